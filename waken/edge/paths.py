"""Which paths are the machine API: answered in JSON (OTLP's own shape under /v1/), never CSRF-checked.

Callers there authenticate with a Bearer token (or read with the SameSite session cookie), not
with forms, so a CSRF token means nothing to them; and a program, not a person, reads the error.
"""
API_PREFIXES = ("/api/", "/v1/", "/mcp", "/healthz")
OTLP_PREFIX = "/v1/"


def is_api(path):
    """Whether path is answered as an API (JSON errors, no CSRF check)."""
    return path.startswith(API_PREFIXES)
