"""The catalog texts kept in every language of the site (django-modeltranslation).

Each field listed here gets a column per language, `<field>_en` and `<field>_es`, that the
admin edits side by side and the search indexes; the field itself then reads the active
language's text, falling back to English (settings.MODELTRANSLATION_FALLBACK_LANGUAGES).
English is the source: every text has it. A Spanish text is written by a person or left
blank, and a page shows the English one in its place marked lang="en"
(films.templatetags.translated_text).

Only text: names of people, characters, crews and routines are proper names, the same in
both languages. A title's name is translatable for the rare certain Spanish release title;
blank, the original title is shown.
"""

from modeltranslation.translator import NotRegistered, TranslationOptions, register, translator

from .models import Character, Crew, Person, Routine, Title, Trivia


@register(Title)
class TitleTranslationOptions(TranslationOptions):
    fields = ("name", "tagline", "synopsis")
    required_languages = {"en": ("name",)}
    # A title's name is unique in each language: a blank Spanish name is stored as NULL
    # (never "", which two titles would share), meaning "the original title".
    empty_values = {"name": None}


@register(Person)
class PersonTranslationOptions(TranslationOptions):
    fields = ("bio",)


@register(Character)
class CharacterTranslationOptions(TranslationOptions):
    fields = ("description",)


@register(Crew)
class CrewTranslationOptions(TranslationOptions):
    fields = ("description",)


@register(Routine)
class RoutineTranslationOptions(TranslationOptions):
    fields = ("description",)


@register(Trivia)
class TriviaTranslationOptions(TranslationOptions):
    fields = ("text",)
    # The English text is required, as the text was before; the Spanish one may wait.
    required_languages = ("en",)


def translated_fields(model) -> tuple[str, ...]:
    """The fields of `model` kept per language (the names without a language suffix)."""
    try:
        return tuple(translator.get_options_for_model(model).get_field_names())
    except NotRegistered:
        return ()
