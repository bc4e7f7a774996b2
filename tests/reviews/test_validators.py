import pytest
from django.core.exceptions import ValidationError

from reviews.models import Comment, Review
from reviews.validators import VisibleTextValidator, has_visible_text, validate_visible_text
from tests.factories import TitleFactory, UserFactory, review

INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "word joiner": "\u2060",
    "invisible times and plus": "\u2062\u2064",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "hangul filler": "\u3164",
    "hangul choseong and jungseong fillers": "\u115f\u1160",
    "halfwidth hangul filler": "\uffa0",
    "braille blank": "\u2800",
    "combining acute alone": "\u0301",
    "combining marks stacked": "\u0300\u0316\u0334\u20dd",
    "combining grapheme joiner": "\u034f",
    "spacing combining mark alone": "\u0903",
    "variation selectors": "\ufe0f\U000e0100",
    "tag characters": "\U000e0041\U000e007f",
    "mongolian vowel separator": "\u180e",
    "arabic letter mark": "\u061c",
    "left-to-right and right-to-left marks": "\u200e\u200f",
    "bidi embeddings and overrides": "\u202a\u202b\u202c\u202d\u202e",
    "bidi isolates": "\u2066\u2067\u2068\u2069",
    "ascii whitespace": " \t\n\r\x0b\x0c",
    "no-break and wide spaces": "\u00a0\u2002\u2003\u2009\u200a\u202f\u205f\u3000",
    "line and paragraph separators": "\u2028\u2029",
    "control characters": "\x01\x7f\x85",
    "a combining mark on a space": " \u0301",
    "everything at once": "\u200b \u3164\u2800\u00ad\ufeff\u202e\u0301",
}

VISIBLE = {
    "spanish": "¡Qué película!",
    "decomposed accent": "e\u0301",
    "japanese": "素晴らしい",
    "korean syllables and jamo": "좋아요 ㅋㅋ",
    "arabic": "رائع",
    "devanagari with its marks": "बहुत अच्छा",
    "emoji": "🔥",
    "emoji with skin tone": "👍🏽",
    "emoji with a variation selector": "❤\ufe0f",
    "keycap": "1\ufe0f\u20e3",
    "a single full stop": ".",
    "a letter hidden among invisible characters": "\u200b\u3164a\u2800",
    "an emoji newer than this Python's Unicode tables": "\U0001fae8",
}


@pytest.mark.parametrize("text", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_text_made_only_of_invisible_characters_is_refused(text):
    assert not has_visible_text(text)
    with pytest.raises(ValidationError) as refused:
        validate_visible_text(text)
    assert refused.value.code == "invisible"
    assert "must contain visible text" in refused.value.messages[0]


@pytest.mark.parametrize("text", VISIBLE.values(), ids=VISIBLE.keys())
def test_text_with_something_visible_in_any_script_is_accepted(text):
    assert has_visible_text(text)
    validate_visible_text(text)


def test_empty_text_is_not_invisible_text():
    validate_visible_text("")  # optional fields (a rating alone) stay allowed


def test_each_use_can_say_what_must_be_visible():
    with pytest.raises(ValidationError, match="Your comment must contain visible text"):
        VisibleTextValidator("Your comment must contain visible text.")("\u200b")


@pytest.mark.django_db
def test_the_models_refuse_invisible_text_too():
    written = review(title=TitleFactory(), body="Words")
    for field in ("headline", "body"):
        setattr(written, field, "\u200b\u2800")
        with pytest.raises(ValidationError) as refused:
            written.full_clean()
        assert field in refused.value.message_dict
        setattr(written, field, "Words")
    comment = Comment(review=written, author=UserFactory(), body="\u3164")
    with pytest.raises(ValidationError) as refused:
        comment.full_clean()
    assert "body" in refused.value.message_dict
    assert Review.objects.get(pk=written.pk).body == "Words"
