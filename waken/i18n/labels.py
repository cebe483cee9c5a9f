"""The words of fixed vocabularies the pages show (statuses, push modes, device types), translated for display."""
from flask_babel import gettext

from waken.i18n.mark import N_

# The stored words stay English (the API speaks them); only their display is translated.
WORDS = {
    "success": N_("success"), "error": N_("error"), "pending": N_("pending"), "running": N_("running"),
    "active": N_("active"), "revoked": N_("revoked"), "realtime": N_("realtime"),
    "desktop": N_("desktop"), "mobile": N_("mobile"), "tablet": N_("tablet"), "pc": N_("pc"),
    "block": N_("block"), "rename": N_("rename"),
    "sent": N_("sent"), "sending": N_("sending"), "dead": N_("dead"),
}


def label(word):
    """word in the page's language when it is one of WORDS; else as it is (a name, say)."""
    return gettext(WORDS[word]) if word in WORDS else word
