"""The Settings page: every setting with its validation, and the integration config export."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from waken import db, settings
from waken.admin import bp
from waken.admin.connect import reporter_blocks
from waken.admin.forms import post_action, read_form, sentence, token_form
from waken.admin.integration import encode, integration_config
from waken.admin.login import login_required
from waken.auth.tokens import create_token
from waken.errors import Invalid
from waken.i18n.mark import N_
from waken.i18n.messages import error_sentence
from waken.timeutil import now

SECTIONS = (
    (N_("Web"), ("site_name", "bio", "avatar_url", "currently_text", "recent_text",
                 "history_window_minutes", "timezone", "public_url", "language", "public_stats",
                 "public_agents")),
    (N_("Device reporting"), ("process_stale_seconds", "device_registration", "device_max",
                              "device_registrations_per_hour", "media_cover_display",
                              "report_app_icon", "save_app_records", "media_play_source_blocklist",
                              "cors_report_origins")),
    (N_("Agent activity"), ("agent_ingest_open", "agent_ingest_open_per_minute")),
    (N_("Privacy"), ("private_mode", "private_schedule", "title_mask_presets", "title_masks",
                     "title_mask_text", "lock_screen_processes")),
    (N_("Admin sign-in"), ("admin_session_days",)),
    (N_("Retention and limits"), ("agent_retention_days", "activity_retention_days", "media_max_mb",
                                  "rate_limit_per_minute", "sse_max_streams", "sse_max_agent_streams")),
)
CHOICES = {"device_registration": (("off", N_("off: unknown keys get 403")),
                                   ("pending", N_("pending: unknown keys wait for approval")),
                                   ("auto", N_("auto: unknown keys are added as active"))),
           "language": (("auto", N_("auto: each visitor's browser language (English without one)")),
                        ("zh-CN", "简体中文"), ("en", "English")),
           "public_stats": (("off", N_("off: only the admin and history:read tokens see them")),
                            ("on", N_("on: the home page's Today charts and /api/activity/stats are public"))),
           "public_agents": (("off", N_("off: agents are not on the public page")),
                             ("summary", N_("summary: each agent's state and tool-call count, nothing else")))}
TEXTAREAS = ("bio", "media_play_source_blocklist", "cors_report_origins", "title_mask_presets", "title_masks",
             "lock_screen_processes")


def _sections():
    """SECTIONS, plus any setting not placed in one, so none is ever missing from the form."""
    placed = {key for _, keys in SECTIONS for key in keys}
    extra = tuple(key for key in settings.SETTINGS if key not in placed)
    return SECTIONS + (((N_("Other"), extra),) if extra else ())


def _widget(key):
    default = settings.SETTINGS[key].default
    if key in CHOICES:
        return "select"
    if isinstance(default, bool):
        return "checkbox"
    if key in TEXTAREAS:
        return "textarea"
    return "number" if isinstance(default, int) else "text"


def _shown(key, value):
    """A stored value as the form shows it."""
    if isinstance(value, list):
        return "\n".join(value)
    return value


def _page(values, errors=None, status=200):
    fields = [(title, [(key, settings.SETTINGS[key].label, _widget(key)) for key in keys])
              for title, keys in _sections()]
    return render_template("admin/settings.html", sections=fields, values=values, errors=errors or {},
                           choices=CHOICES, config_b64=encode(integration_config()),
                           mint_name=f"integration {now():%Y-%m-%d}"), status


@bp.get("/settings")
@login_required
def settings_page():
    """The form, filled with the values in force."""
    return _page({key: _shown(key, value) for key, value in settings.load().items()})


def _posted(key):
    # An unticked checkbox is simply absent from the form.
    if _widget(key) == "checkbox":
        return "true" if key in request.form else "false"
    return request.form.get(key, "")


@bp.post("/settings")
@login_required
def save_settings():
    """Validate every field; store all of them, or none when one is wrong."""
    posted, clean, errors = {key: _posted(key) for key in settings.SETTINGS}, {}, {}
    for key, raw in posted.items():
        try:
            clean[key] = settings.validate(key, raw)
        except Invalid as err:
            errors[err.field] = sentence(error_sentence(err.code, err.params, err.message))
    if errors:
        return _page(posted, errors, 400)
    return post_action(lambda: [settings.put(key, value) for key, value in clean.items()],
                       done=lambda _saved: _("Settings saved."), back=url_for("admin.settings_page"))


@bp.post("/settings/integration")
@login_required
def mint_integration_config():
    """Mint a token and show the integration config with its plaintext embedded, once."""
    values, errors = read_form(token_form)
    if errors:
        flash(_("No token minted. %(reason)s", reason=errors["name"]), "error")
        return redirect(url_for("admin.settings_page", _anchor="integration"), 303)
    try:
        with db.write():
            minted = create_token(values["name"], ("report",))   # the config goes to a reporter
    except Invalid as err:
        flash(_("No token minted. %(reason)s", reason=error_sentence(err.code, err.params, err.message)), "error")
        return redirect(url_for("admin.settings_page", _anchor="integration"), 303)
    config_b64 = encode(integration_config(minted))
    return render_template("admin/integration.html", token=minted[0], config_b64=config_b64,
                           setup=[reporter_blocks(settings.public_base(), platform, config_b64)[0]
                                  for platform in ("linux", "windows")])
