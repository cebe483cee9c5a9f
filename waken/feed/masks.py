"""Title masks: regular expressions whose matches are replaced in public text, with a bounded cost.

Python's `re` cannot be interrupted, so patterns run on the `regex` library, whose
matching takes a timeout: a title gets TITLE_BUDGET_SECONDS for all patterns together,
and a title that runs out is masked whole (never shown unmasked). A pattern is also
refused when it is saved if it backtracks badly on adversarial text (check_patterns).
`regex` is imported when a mask is first used or checked, like Pillow for images.
"""
import time

PRESETS = {
    "email": r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    "url": r"(?i)\b(?:[a-z][a-z0-9+.-]{1,15}://|www\.)\S+",
    "digits": r"\d(?:[ .-]?\d){5,}",   # six or more digits, as in phone, card and order numbers
}
MAX_PATTERNS = 20
MAX_PATTERN_LENGTH = 200
TITLE_BUDGET_SECONDS = 0.05
# A saved pattern must scan each probe within this: far above what a sane pattern needs
# on a title (microseconds), far below what catastrophic backtracking takes.
PROBE_BUDGET_SECONDS = 0.02
PROBE_LENGTH = 1024   # the longest window title a report may carry
PROBE_CHARS = "a0 @.-_x/:"
MAX_DEPTH = 8


def check_presets(value):
    """The setting's check: a list of preset names (email, url, digits); ValueError otherwise."""
    names = _lines(value, "must list presets among " + ", ".join(PRESETS))
    unknown = [name for name in names if name.lower() not in PRESETS]
    if unknown:
        raise ValueError(f"'{unknown[0]}' is not a preset; the presets are " + ", ".join(PRESETS))
    return sorted({name.lower() for name in names})


def check_patterns(value):
    """The setting's check: regular expressions, one a line, each compiled and probed; ValueError
    naming the first one refused."""
    patterns = _lines(value, "must be regular expressions, one a line")
    if len(patterns) > MAX_PATTERNS:
        raise ValueError(f"may hold at most {MAX_PATTERNS} patterns")
    for pattern in patterns:
        _probe(pattern)
    return list(dict.fromkeys(patterns))


def _lines(value, sentence):
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(sentence)
    return [v.strip() for v in value if v.strip()]


def _probe(pattern):
    import regex

    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"may hold patterns of at most {MAX_PATTERN_LENGTH} characters")
    try:
        compiled = regex.compile(pattern)
    except (regex.error, OverflowError, RecursionError) as err:
        raise ValueError(f"'{pattern}' is not a regular expression ({err})") from None
    if compiled.search("") is not None:
        raise ValueError(f"'{pattern}' matches empty text; give a pattern that needs at least one character")
    chars = dict.fromkeys(PROBE_CHARS + "".join(c for c in pattern if c.isprintable()))
    for char in chars:
        for text in (char * PROBE_LENGTH + "!", char * PROBE_LENGTH + "\n", (char + " ") * (PROBE_LENGTH // 2)):
            try:
                compiled.search(text, timeout=PROBE_BUDGET_SECONDS)
            except TimeoutError:
                raise ValueError(f"'{pattern}' takes too long on some titles (it backtracks "
                                 "catastrophically); write it without nested repeats") from None


class Masks:
    """The masks in force: apply() gives a text with every match replaced."""

    def __init__(self, presets, patterns, replacement):
        sources = [PRESETS[name] for name in presets if name in PRESETS] + list(patterns)
        if sources:
            import regex
        self.patterns = [regex.compile(source) for source in sources]
        self.replacement = replacement

    def __bool__(self):
        return bool(self.patterns)

    def apply(self, text):
        """text with every match of every mask replaced; masked whole when the budget runs out."""
        if not self.patterns or not isinstance(text, str) or not text:
            return text
        deadline = time.monotonic() + TITLE_BUDGET_SECONDS
        for pattern in self.patterns:
            left = deadline - time.monotonic()
            if left <= 0:
                return self.replacement
            try:
                # A function, so that backslashes in the owner's replacement are taken literally.
                text = pattern.sub(lambda _: self.replacement, text, timeout=left)
            except TimeoutError:
                return self.replacement
        return text

    def deep(self, value, depth=0):
        """Every string in a JSON value masked (metadata as reported)."""
        if not self.patterns:
            return value
        if isinstance(value, str):
            return self.apply(value)
        if depth >= MAX_DEPTH:
            return None
        if isinstance(value, dict):
            return {key: self.deep(item, depth + 1) for key, item in value.items()}
        if isinstance(value, list):
            return [self.deep(item, depth + 1) for item in value]
        return value
