"""The template checker: text a person reads in a Jinja template that is outside {% trans %} or _()."""
import re
from pathlib import Path

from jinja2 import nodes

TEMPLATES = Path(__file__).resolve().parent.parent / "waken" / "templates"
# Words that stay as they are in every language: names, protocols, formats, code.
ALLOWED = {
    "waken", "API", "JSON", "CSV", "SVG", "OTLP", "OpenTelemetry", "MCP", "URL", "HTTP", "HTTPS", "SSE",
    "Bearer", "Authorization", "GeneratedHashKey", "base64", "Base64", "ID", "id", "UTC", "OpenAPI",
    "waken-wa-reporter", "Linux", "Windows", "macOS", "Android", "systemd", "curl", "token", "null", "PowerShell",
}
# Blocks that fill an attribute of the base template (a class, data attributes), never text.
ATTRIBUTE_BLOCKS = {"body_class", "body_attrs"}
_VISIBLE_ATTRS = re.compile(r'\b(?:title|alt|placeholder|aria-label|data-confirm)="([^"]*)"')
_TAG = re.compile(r"<!--.*?-->|<script\b.*?</script>|<style\b.*?</style>|<[^>]*>", re.S)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")
_GETTEXT = {"_", "gettext", "ngettext", "pgettext", "npgettext"}
# A string constant (a label passed to a macro, a list of nav entries) that reads like words.
_PROSE = re.compile(r"^[A-Z][a-z]+(\W|$)|[a-z]+ [a-z]+")


def _walk(node, out, in_gettext=False):
    """Append the template's literal text to out in order; expressions become a NUL."""
    if isinstance(node, nodes.Block) and node.name in ATTRIBUTE_BLOCKS:
        return
    if isinstance(node, nodes.TemplateData):
        out.append(("text", node.data))
        return
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name in _GETTEXT:
        in_gettext = True
    if isinstance(node, nodes.Const) and isinstance(node.value, str) and not in_gettext:
        out.append(("const", node.value))
    if isinstance(node, nodes.Output):
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                out.append(("text", child.data))
            else:
                out.append(("text", "\x00"))
                _walk(child, out, in_gettext)
        return
    for child in node.iter_child_nodes():
        _walk(child, out, in_gettext)


def untranslated(env, folder=TEMPLATES, allowed_constants=()):
    """{template: [text outside a translation call]} for every template in folder."""
    found = {}
    for path in sorted(folder.rglob("*.html")):
        name = str(path.relative_to(folder))
        parts = []
        _walk(env.parse(path.read_text(encoding="utf-8")), parts)
        html = "".join(text for kind, text in parts if kind == "text")
        visible = _VISIBLE_ATTRS.findall(html) + [_TAG.sub(" ", html)]
        problems = []
        for chunk in visible:
            for line in chunk.replace("\x00", " ").splitlines():
                words = [w for w in _WORD.findall(line) if w not in ALLOWED and not re.fullmatch(r"&\w+;?", w)]
                if words and not re.fullmatch(r"\s*(&\w+;\s*)*", line):
                    problems.append(line.strip())
        problems += [value for kind, value in parts if kind == "const" and _PROSE.search(value)
                     and value not in allowed_constants]
        if problems:
            found[name] = problems
    return found
