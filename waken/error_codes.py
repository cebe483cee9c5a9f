"""The stable error codes: each code's HTTP status and meaning, and a code per field error.

A JSON error answer carries `code` (from CODES) and `params`; clients translate the code,
the English `error` sentence is for people reading logs. A code never changes meaning once
released: a new meaning gets a new code. The table is served in the OpenAPI document, listed
in docs/errors.md and held by a snapshot test (tests/test_error_codes.py).
"""
from waken.i18n.mark import N_

# code: (HTTP status, what it means; %(name)s are its params). The meanings are also the
# sentences of the HTML pages (translated), so they say what happened to a person.
CODES = {
    # Generic codes: the default of each domain error class and of each HTTP status.
    "invalid": (400, N_("The request breaks a rule.")),
    "bad_request": (400, N_("The request could not be understood.")),
    "validation_failed": (400, N_("Some fields of the request are invalid.")),
    "forbidden": (403, N_("You are not allowed to do that.")),
    "not_found": (404, N_("There is nothing at this address.")),
    "method_not_allowed": (405, N_("This address does not accept that method.")),
    "conflict": (409, N_("The data clashes with what is stored.")),
    "payload_too_large": (413, N_("The request body is larger than this server accepts.")),
    "rate_limited": (429, N_("Too many requests; wait a little and try again.")),
    "internal_error": (500, N_("Something went wrong on the server; the error has been logged.")),
    "unavailable": (503, N_("The server cannot do this right now; try again soon.")),
    "busy": (503, N_("The server is busy; try again in a moment.")),
    # Any other HTTP refusal (406, 415, ...): its own status is sent; 400 stands for the class.
    "http_error": (400, N_("The request could not be served.")),
    "csrf.failed": (400, N_("The form expired or was not sent from this site; reload the page and try again.")),
    # Who may call.
    "auth.required": (401, N_("A valid API token is required.")),
    "auth.token_missing": (401, N_("Missing API token: send it as 'Authorization: Bearer <token>'.")),
    "auth.token_invalid": (401, N_("Invalid API token.")),
    "auth.token_disabled": (401, N_("This API token is disabled.")),
    "auth.scope_missing": (403, N_("This API token lacks the '%(scope)s' scope.")),
    "auth.admin_session_required": (401, N_("Sign in to the admin panel first.")),
    "account.username_invalid": (400, N_("The username must be 1 to 64 characters without spaces.")),
    "account.password_length": (400, N_("The password must be %(min)s to %(max)s characters long.")),
    "busy.password_check": (429, N_("The server is checking other passwords right now; try again in a moment.")),
    "token.scope_unknown": (400, N_("'%(scope)s' is not a token scope.")),
    "token.name_required": (400, N_("A token name is required (at most 80 characters).")),
    "token.not_found": (404, N_("There is no such token.")),
    # Request bodies and queries.
    "body.too_large": (413, N_("The request body is larger than this endpoint accepts.")),
    "body.not_object": (400, N_("The body must be a JSON object.")),
    "body.empty": (400, N_("The request body is empty; send a JSON object.")),
    "body.too_many_values": (413, N_("The JSON body holds more values than could be stored.")),
    "body.not_utf8": (400, N_("The body is not UTF-8 text.")),
    "body.too_deep": (400, N_("The JSON body is nested more than %(limit)s levels deep.")),
    "body.invalid_json": (400, N_("The body is not valid JSON.")),
    "body.lone_surrogate": (400, N_("The body contains a lone surrogate escape.")),
    "body.metadata_too_large": (413, N_("The metadata is larger than the server stores.")),
    "query.repeated_parameter": (400, N_("The parameter %(field)s is given more than once.")),
    "query.date_range_invalid": (400, N_("startDate must not be after endDate.")),
    "setting.unknown": (400, N_("'%(field)s' is not a setting.")),
    "setting.invalid": (400, N_("The value of the setting %(field)s is not allowed.")),
    # Devices and their reports.
    "activity.validation_failed": (400, N_("Some fields of the device report are invalid.")),
    "device.pending_approval": (202, N_("This device is waiting for approval in the admin panel.")),
    "device.revoked": (403, N_("This device has been revoked in the admin panel.")),
    "device.unknown": (403, N_("Unknown device: add its GeneratedHashKey in Device Management first.")),
    "device.reserved": (403, N_("This device key is reserved for the admin panel's Quick Add form.")),
    "device.orphaned": (403, N_("This device was bound to a deleted API token; bind or unbind it first.")),
    "device.token_mismatch": (403, N_("This device is bound to another API token.")),
    "device.limit_reached": (403, N_("This server registers no more devices by report (at most %(limit)s).")),
    "device.key_invalid": (400, N_("A GeneratedHashKey must be 8 to 128 printable characters without spaces.")),
    "device.key_taken": (409, N_("A device with this key already exists.")),
    "device.key_unusable": (400, N_("This key does not belong to an active device.")),
    "device.not_found": (404, N_("There is no such device.")),
    "media_rule.source_required": (400, N_("A play source is required (at most %(max)s characters).")),
    "media_rule.action_invalid": (400, N_("The action must be block or rename.")),
    "media_rule.label_required": (400, N_("A rename rule needs the label to show instead.")),
    "media_rule.label_too_long": (400, N_("The label may be at most %(max)s characters.")),
    "media_rule.duplicate": (400, N_("This play source already has a rule.")),
    "media_rule.not_found": (404, N_("There is no such media source rule.")),
    "app_rule.process_required": (400, N_("A process name is required (at most %(max)s characters).")),
    "app_rule.label_too_long": (400, N_("The label may be at most %(max)s characters.")),
    "app_rule.empty": (400, N_("A rule needs a label to show, hide the title, or hide the app.")),
    "app_rule.not_found": (404, N_("There is no such app rule.")),
    "busy.images": (503, N_("The server is busy storing other reports with images; try again in a moment.")),
    # The agent log.
    "agent_activity.validation_failed": (400, N_("Some fields of the agent activity are invalid.")),
    "agent_activity.not_found": (404, N_("There is no such agent activity.")),
    "agent_activity.timestamp_future": (400, N_("The timestamp is in the future.")),
    "agent_activity.timestamp_too_old": (400, N_("The timestamp is older than the %(days)s-day retention window.")),
    "agent_session.not_found": (404, N_("There is no such agent session.")),
    "price.invalid": (400, N_("A price must be a number of dollars per million tokens.")),
    "price.model_required": (400, N_("A model name is required.")),
    "price.model_too_long": (400, N_("A model name must be at most %(max)s characters.")),
    "price.not_found": (404, N_("There is no price for this model.")),
    "busy.otlp": (503, N_("The server is busy with other OTLP exports; try again in a moment.")),
    "busy.export": (503, N_("The server is busy with other CSV downloads; try again in a moment.")),
    "otlp.metric_invalid": (400, N_("A metric point could not be stored as an agent usage record.")),
    # The owner's status and the embeds.
    "status.validation_failed": (400, N_("Some fields of the status are invalid.")),
    "status.text_required": (400, N_("A status needs a text (the emoji is optional).")),
    "status.text_too_long": (400, N_("The status text may be at most %(max)s characters.")),
    "status.emoji_too_long": (400, N_("The emoji may be at most %(max)s characters.")),
    "status.until_invalid": (400, N_("The end must be a clock time such as 07:30 or an ISO 8601 instant.")),
    "status.until_past": (400, N_("The end is in the past; give a later time.")),
    "status.until_too_far": (400, N_("The end may be at most a year away.")),
    "embed.theme_invalid": (400, N_("This theme is not one of the embed's themes.")),
    "embed.hide_invalid": (400, N_("hide may only list title, music and battery.")),
    "embed.width_invalid": (400, N_("The width must be a whole number from %(min)s to %(max)s.")),
    # Your day and the device history.
    "stats.private_mode": (401, N_("Private mode is on: the statistics need a token with the '%(scope)s' scope.")),
    "stats.not_public": (401, N_("The statistics are private: they need a token with the '%(scope)s' scope.")),
    "history.token_required": (401, N_("The device history needs a token with the '%(scope)s' scope.")),
    # Alerts.
    "alert_channel.name_required": (400, N_("A channel needs a name.")),
    "alert_channel.name_too_long": (400, N_("A channel name is at most %(max)s characters.")),
    "alert_channel.url_invalid": (400, N_("The URL must be an Apprise URL such as ntfy://ntfy.sh/topic (one line, at most %(max)s characters).")),
    "alert_channel.name_taken": (409, N_("There is already a channel with this name.")),
    "alert_channel.not_found": (404, N_("There is no such alert channel.")),
    "alert_rule.unknown": (400, N_("There is no such alert rule.")),
    "alert_rule.channel_unknown": (400, N_("A channel of this rule does not exist (any more).")),
    "alert_rule.channel_required": (400, N_("A rule that is on needs at least one channel.")),
    "alert_rule.cooldown_invalid": (400, N_("The cool-down must be a whole number of seconds from 0 to %(max)s.")),
    "alert_rule.param_not_number": (400, N_("A value of this rule must be a number.")),
    "alert_rule.param_out_of_range": (400, N_("A value of this rule must be from %(min)s to %(max)s.")),
    "alert_rule.param_empty": (400, N_("A list of this rule needs at least one entry.")),
    "alert_rule.param_unknown": (400, N_("This rule has no such parameter.")),
    # Streams, health and the disk.
    "stream.limit_reached": (503, N_("Too many live streams are open; try again soon.")),
    "health.database_unreadable": (503, N_("The database cannot be read.")),
    "health.writes_failing": (503, N_("Writes fail on the server's disk; reads still work.")),
    "disk.full": (507, N_("The server's disk is full: nothing was stored.")),
    "disk.read_only": (503, N_("The server's data folder is read-only: nothing was stored.")),
    "disk.io_error": (503, N_("The server's disk failed to write: nothing was stored.")),
}

# The code of one field's error in `fieldCodes`, from the sentence marshmallow or our fields
# give (the first pattern it starts with or contains wins; field.invalid otherwise).
FIELD_CODES = {
    "field.required": (N_("is required"), ("Missing data for required field", "is required")),
    "field.null": (N_("may not be null"), ("Field may not be null",)),
    "field.unknown": (N_("is not a known field"), ("Unknown field", "is not a known parameter",
                                                   "is not a known argument")),
    "field.empty": (N_("may not be empty"), ("may not be empty",)),
    "field.repeated": (N_("is given more than once"), ("is given more than once",)),
    "field.not_number": (N_("must be a number"), ("must be a number", "Not a valid number")),
    "field.not_integer": (N_("must be a whole number"), ("must be a whole number ", "must be a whole number",
                                                         "Not a valid integer")),
    "field.not_boolean": (N_("must be true or false"), ("must be true or false", "Not a valid boolean")),
    "field.not_string": (N_("must be text"), ("Not a valid string",)),
    "field.not_object": (N_("must be a JSON object"), ("must be a JSON object", "Not a valid mapping")),
    "field.not_allowed": (N_("is not one of the allowed values"), ("must be one of", "is not one of")),
    "field.too_long": (N_("is too long"), ("must be at most", "Longer than maximum length", "Length must be")),
    "field.out_of_range": (N_("is out of range"), ("must be from", "must be at least", "is too large",
                                                   "is outside the years", "Must be greater", "Must be less")),
    "field.not_date": (N_("is not a date or an ISO 8601 date-time"), ("ISO 8601", "is not a date")),
    "field.mismatch": (N_("does not match"), ("does not match",)),
    "field.invalid": (N_("is invalid"), ()),
}


def field_code(sentence):
    """The code of one field's error sentence."""
    for code, (_meaning, patterns) in FIELD_CODES.items():
        if any(sentence.startswith(p) or p in sentence for p in patterns):
            return code
    return "field.invalid"


def field_codes(fields):
    """{field: code} for {field: "sentence"} (several sentences of a field joined by '; ': the first counts)."""
    return {name: field_code(str(text).split("; ")[0]) for name, text in (fields or {}).items()}
