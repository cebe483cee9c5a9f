"""Alerts: channels (added, listed masked, tested, deleted), rules, and recent deliveries."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from marshmallow import fields

from waken.admin import bp
from waken.admin.forms import FormSchema, post_action, post_form
from waken.admin.login import login_required
from waken.alerts import channels, messages, outbox, rules
from waken.errors import DomainError, Invalid
from waken.i18n.messages import error_sentence
from waken.timeutil import from_ms, now

DELIVERIES_SHOWN = 100


class ChannelForm(FormSchema):
    # Lengths and the URL's shape are channels.clean's to check, with its own sentences.
    name = fields.String(load_default=None)
    url = fields.String(load_default=None)


channel_form = ChannelForm()


@bp.get("/alerts")
@login_required
def alerts(errors=None, values=None):
    """Channels, masked, with their test and delete buttons; each rule's form; a refused POST's answer."""
    return render_template("admin/alerts.html", channels=channels.list_channels(), rules=rules.all_rules(),
                           kinds=rules.KINDS, errors=errors or {}, values=values or {}, counts=outbox.counts())


def _refilled(errors, values):
    # The URL is never sent back into the page, even a refused one: it may hold a secret.
    return alerts(errors, {"name": values.get("name", "")})


@bp.post("/alerts/channels")
@login_required
def add_alert_channel():
    """Add a channel."""
    return post_form(channel_form, lambda values: channels.add_channel(values["name"], values["url"], now()),
                     page=_refilled, done=lambda c: gettext("Channel “%(name)s” added: %(url)s. Send it a test.", name=c.name, url=c.masked),
                     back=url_for("admin.alerts") + "#channels")


@bp.post("/alerts/channels/delete")
@login_required
def delete_alert_channel():
    """Delete a channel, its deliveries and its place in the rules."""
    return post_action(lambda: channels.delete_channel(request.form.get("name")),
                       done=lambda c: gettext("Channel “%(name)s” deleted.", name=c.name), back=url_for("admin.alerts") + "#channels")


@bp.post("/alerts/channels/test")
@login_required
def test_alert_channel():
    """Send a test alert now and show what the channel answered."""
    from waken.alerts.delivery import send

    try:
        channel = channels.get_channel(request.form.get("name"))
    except DomainError as err:
        flash(error_sentence(err.code, err.params, err.message), "error")
        return redirect(url_for("admin.alerts") + "#channels", 303)
    ok, answer = send(channel.url, *messages.test())
    text = gettext("Test to “%(name)s” sent. The channel answered: %(answer)s", name=channel.name, answer=answer) if ok \
        else gettext("Test to “%(name)s” failed. The channel answered: %(answer)s", name=channel.name, answer=answer)
    flash(text, "success" if ok else "error")
    return redirect(url_for("admin.alerts") + "#channels", 303)


def _rule_change(kind):
    form = request.form
    if kind not in rules.KINDS:
        raise Invalid(f"There is no alert rule “{kind[:32]}”.", code="alert_rule.unknown", params={"kind": kind[:32]})
    try:
        ids = [int(value) for value in form.getlist("channel")]
        cooldown = int(form.get("cooldown_seconds", "0").strip() or 0)
    except ValueError:
        raise Invalid("The cool-down must be a whole number of seconds.", field="cooldown_seconds",
                      code="alert_rule.cooldown_invalid", params={"max": rules.COOLDOWN_MAX}) from None
    given = {key: form.get(f"param_{key}") for key in rules.KINDS[kind].params}
    return rules.save_rule(kind, form.get("enabled") == "true", ids, cooldown, rules.parse_params(kind, given), now())


@bp.post("/alerts/rules/<kind>")
@login_required
def save_alert_rule(kind):
    """Turn a rule on or off, and set its channels, cool-down and parameters."""
    return post_action(lambda: _rule_change(kind),
                       done=lambda r: (gettext("Rule “%(rule)s” saved: on.", rule=gettext(rules.KINDS[r.kind].title)) if r.enabled
                                      else gettext("Rule “%(rule)s” saved: off.", rule=gettext(rules.KINDS[r.kind].title))),
                       back=url_for("admin.alerts") + f"#rule-{kind}")


@bp.get("/alerts/deliveries")
@login_required
def alert_deliveries():
    """The latest deliveries with their status, tries and the channel's last answer."""
    rows = [{**dict(row), **{k: row[k] and from_ms(row[k]) for k in ("created_at", "next_at", "finished_at")}}
            for row in outbox.recent(DELIVERIES_SHOWN)]
    return render_template("admin/alert_deliveries.html", rows=rows, counts=outbox.counts(), kinds=rules.KINDS)
