import unicodedata


def normalize_for_search(text: str) -> str:
    """Fold case and strip accents, so "beyonce" finds "Beyoncé" and "ÉMILY" finds "Emily"."""
    decomposed = unicodedata.normalize("NFKD", text)
    without_marks = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(without_marks.casefold().split())
