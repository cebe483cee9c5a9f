"""Schemas of the admin forms: posted text in, clean values or per-field sentences out."""
from flask import flash, redirect, request
from flask_babel import gettext
from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validates_schema,
)
from marshmallow.validate import Length, OneOf, Range

from waken import db
from waken.admin.accounts import PASSWORD_MIN
from waken.devices.registry import DEVICE_TYPES
from waken.error_codes import field_code
from waken.errors import DomainError
from waken.i18n.mark import N_
from waken.i18n.messages import error_sentence, field_sentence
from waken.schemas.fields import flat_fields

REQUIRED = {"required": "is required"}
# Passwords are taken exactly as typed; every other field is trimmed.
UNTRIMMED = {"password", "confirm"}


class FormSchema(Schema):
    """A posted HTML form: blank fields count as not given, unknown fields are ignored."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _drop_blanks(self, data, **_):
        clean = {}
        for key, value in data.items():
            value = value if key in UNTRIMMED else value.strip()
            if value != "":
                clean[key] = value
        return clean


class LoginForm(FormSchema):
    username = fields.String(required=True, error_messages=REQUIRED)
    password = fields.String(required=True, error_messages=REQUIRED)


class SetupForm(FormSchema):
    code = fields.String(required=True, error_messages=REQUIRED)
    username = fields.String(required=True, error_messages=REQUIRED, validate=Length(
        max=64, error="must be at most 64 characters"))
    password = fields.String(required=True, error_messages=REQUIRED, validate=Length(
        min=PASSWORD_MIN, max=256, error=f"must be {PASSWORD_MIN} to 256 characters long"))
    confirm = fields.String(required=True, error_messages=REQUIRED)

    @validates_schema
    def _same_password(self, data, **_):
        if data.get("password") and data.get("confirm") and data["password"] != data["confirm"]:
            raise ValidationError("does not match the password", "confirm")


class TokenForm(FormSchema):
    name = fields.String(required=True, error_messages=REQUIRED,
                         validate=Length(max=80, error="must be at most 80 characters"))


class DeviceForm(FormSchema):
    name = fields.String(required=True, error_messages=REQUIRED,
                         validate=Length(max=128, error="must be at most 128 characters"))
    key = fields.String(load_default=None)
    token_id = fields.Integer(load_default=None, error_messages={"invalid": "is not a token"})
    device_type = fields.String(load_default=None, validate=OneOf(
        DEVICE_TYPES, error="must be one of " + ", ".join(DEVICE_TYPES)))


class RenameForm(FormSchema):
    name = fields.String(required=True, error_messages=REQUIRED,
                         validate=Length(max=128, error="must be at most 128 characters"))


class BindForm(FormSchema):
    token_id = fields.Integer(load_default=None, error_messages={"invalid": "is not a token"})


def _at_most(n):
    return Length(max=n, error=f"must be at most {n} characters")


class QuickAddForm(FormSchema):
    key = fields.String(load_default=None, validate=_at_most(128))
    device = fields.String(load_default=None, validate=_at_most(128))
    process_name = fields.String(required=True, error_messages=REQUIRED, validate=_at_most(256))
    process_title = fields.String(load_default=None, validate=_at_most(1024))
    push_mode = fields.String(load_default="realtime")
    persist_minutes = fields.Integer(load_default=None, validate=Range(
        1, 1440, error="must be from 1 to 1440"), error_messages={"invalid": "must be a whole number"})
    media_title = fields.String(load_default=None, validate=_at_most(256))
    media_singer = fields.String(load_default=None, validate=_at_most(256))


class RuleForm(FormSchema):
    source = fields.String(required=True, error_messages=REQUIRED)
    action = fields.String(required=True, error_messages=REQUIRED)
    label = fields.String(load_default=None)


class AppRuleForm(FormSchema):
    # Lengths and "a rule needs something to do" are app_rules.clean's to check.
    process_name = fields.String(load_default=None)
    label = fields.String(load_default=None)
    hide_title = fields.Boolean(load_default=False)
    hide = fields.Boolean(load_default=False)


# How the forms name their fields in messages.
LABELS = {"code": N_("The setup code"), "username": N_("The username"), "password": N_("The password"),
          "confirm": N_("The repeated password"), "name": N_("The name"), "key": N_("The GeneratedHashKey"),
          "token_id": N_("The token"), "device_type": N_("The device type"), "device": N_("The device name"),
          "process_name": N_("The process name"), "process_title": N_("The process title"),
          "push_mode": N_("The push mode"), "persist_minutes": N_("Persist minutes"),
          "media_title": N_("The media title"), "media_singer": N_("The media singer"),
          "source": N_("The play source"), "action": N_("The action"), "label": N_("The label")}


def sentence(text):
    """'a name is required' → 'A name is required.'"""
    text = str(text).strip().rstrip(".")
    return text[:1].upper() + text[1:] + "."


def field_errors(messages, labels=LABELS):
    """marshmallow's messages as {field: "The field is …."} (in the page's language)."""
    return {field: field_sentence(labels.get(field, field), field_code(text),
                                  sentence(f"{labels.get(field, field)} {text}"))
            for field, text in flat_fields(messages).items()}


def read_form(schema):
    """(values, errors) of the posted form; errors maps field names to sentences."""
    try:
        return schema.load(request.form.to_dict()), {}
    except ValidationError as err:
        return None, field_errors(err.messages)


def _of(outcome, result):
    return outcome(result) if callable(outcome) else outcome


def post_action(change, *, done, back, form=None):
    """A button's POST: change() under the write lock, flash `done`, 303 to `back`.

    `done` and `back` are a sentence and a URL, or functions of change()'s result giving
    them. With a `form` schema, its posted values are read first and passed as
    change(values). Wrong fields or a DomainError change nothing: the sentence is
    flashed and the owner goes back.
    """
    args = ()
    if form is not None:
        values, errors = read_form(form)
        if errors:
            return _refused(" ".join(errors.values()), back)
        args = (values,)
    try:
        with db.write():
            result = change(*args)
    except DomainError as err:
        return _refused(sentence(error_sentence(err.code, err.params, err.message)), back)
    flash(_of(done, result), "success")
    return redirect(_of(back, result), 303)


def _refused(sentences, back):
    flash(gettext("Nothing changed. %(reasons)s", reasons=sentences), "error")
    return redirect(_of(back, None), 303)


def post_form(schema, change, *, page, done, back):
    """A form's POST: validate it, change(values) under the write lock, flash `done`, 303 to `back`.

    Invalid fields, or a DomainError naming one, re-render page(errors, values) with a
    sentence per field and status 400; `done` and `back` are as for post_action.
    """
    values, errors = read_form(schema)
    if not errors:
        try:
            with db.write():
                result = change(values)
        except DomainError as err:
            errors = {err.field or "form": sentence(error_sentence(err.code, err.params, err.message))}
        else:
            flash(_of(done, result), "success")
            return redirect(_of(back, result), 303)
    return page(errors, request.form), 400


login_form = LoginForm()
setup_form = SetupForm()
token_form = TokenForm()
device_form = DeviceForm()
rename_form = RenameForm()
bind_form = BindForm()
quick_add_form = QuickAddForm()
rule_form = RuleForm()
app_rule_form = AppRuleForm()
