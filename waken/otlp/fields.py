"""What the OTLP mappings share: the rejection, compact metadata and a tool call's summary."""
import json

from waken.otlp.values import as_text

SUMMARY_CHARS = 200             # what a tool's parameters may add to its description
SESSION_CHARS = 128             # the session field's limit (POST /api/activities)
# The first of these parameters found says most about a tool call: Bash's full command before
# bash_command (Claude Code puts only the command's name there), then paths, patterns, ...
SUMMARY_KEYS = ("full_command", "command", "bash_command", "file_path", "path", "notebook_path",
                "pattern", "url", "query", "prompt", "description", "skill_name")


class Rejected(Exception):
    """A record that is not stored, with the reason the exporter is told."""


class Merged:
    """A record that is part of another one (an agent run's second span): accepted, not stored again."""


MERGED = Merged()


def compact(fields):
    """Only the keys with a value, so metadata stays small."""
    return {k: v for k, v in fields.items() if v is not None and v != ""}


def summary(parameters):
    """A short summary of a tool's parameters (a JSON object or its text); None rather than JSON.

    Frameworks wrap arguments ({"input": {...}}, {"kwargs": {...}}), so one level of nesting is
    searched too; a wrapper with none of SUMMARY_KEYS says nothing a person reads, so it is left out.
    """
    if isinstance(parameters, str):
        try:
            parameters = json.loads(parameters)
        except ValueError:
            return parameters[:SUMMARY_CHARS] or None
    if isinstance(parameters, str):
        return parameters[:SUMMARY_CHARS] or None
    if not isinstance(parameters, dict):
        return None
    for level in (parameters, *(v for v in parameters.values() if isinstance(v, dict))):
        for key in SUMMARY_KEYS:
            if level.get(key) not in (None, "") and not isinstance(level[key], (dict, list)):
                return as_text(level[key], SUMMARY_CHARS)
    return None
