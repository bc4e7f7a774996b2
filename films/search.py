import unicodedata


def normalize_for_search(text: str) -> str:
    """The form names are compared in: no case, accents, punctuation or spaces.

    So "beyonce" finds "Beyoncé", "de’shawn" (a phone's curly apostrophe) finds
    "De'Shawn", "neyo" finds "Ne-Yo" and "stepup" finds "Step Up".
    """
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed.casefold() if char.isalnum())
