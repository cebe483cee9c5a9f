"""Error sentences for people, in the page's language: the English sentence, or its code's meaning translated."""
from flask_babel import get_locale, gettext

from waken.error_codes import CODES, FIELD_CODES


def english():
    """Whether the request is answered in English (the sentences' own language)."""
    locale = get_locale()
    return locale is None or locale.language == "en"


def error_sentence(code, params, english_sentence):
    """For an HTML page or an admin form: the detailed English sentence in English, else the
    translated meaning of its code with its params (which JSON clients translate themselves)."""
    if english() or code not in CODES:
        return english_sentence
    try:
        return gettext(CODES[code][1]) % (params or {})
    except (KeyError, ValueError, TypeError):   # a raise site without the params its meaning names
        return english_sentence


def field_sentence(label, code, english_sentence):
    """One form field's error: 'The name is required.' in English, '<label>：<meaning>' otherwise."""
    if english() or code not in FIELD_CODES:
        return english_sentence
    return gettext("%(label)s: %(problem)s.", label=gettext(label), problem=gettext(FIELD_CODES[code][0]))
