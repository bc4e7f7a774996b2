# The site's Spanish formats, over Django's own (FORMAT_MODULE_PATH): only what differs.
# Counts grouped with a period, "1.234 valoraciones", as most of Latin America writes them
# (Django's Spanish groups with a non-breaking space); decimals keep the comma, "4,5".
THOUSAND_SEPARATOR = "."
DECIMAL_SEPARATOR = ","
NUMBER_GROUPING = 3
