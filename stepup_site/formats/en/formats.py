# The site's English formats, over Django's own (FORMAT_MODULE_PATH): only what differs.
# Dates with the month in full, "November 21, 2026" (Django's English says "Nov. 21, 2026").
DATE_FORMAT = "F j, Y"
DATETIME_FORMAT = "F j, Y, P"
