"""Sending: one alert to one channel through Apprise (imported here, on the first send only), and the outbox's round."""
import logging

from flask import current_app

from waken.alerts import outbox
from waken.alerts.channels import redact
from waken.timeutil import now as clock_now

log = logging.getLogger("waken.alerts")
ANSWER_MAX = 1000


def _apprise():
    # Imported on the first send: Apprise and its plugins cost a worker about 27 MB, so only
    # the process that sends (the scheduler worker, a command, an admin's test) pays.
    import apprise

    logger = logging.getLogger("apprise")
    if logger.propagate:
        # Its log lines name URLs and topics: they never reach waken's log. Each send's own
        # lines (INFO and up: "Sent …", "Failed …", never the DEBUG dumps of URLs and payloads)
        # come back in its result instead, and are shown with the secrets masked.
        logger.propagate = False
        logger.setLevel(logging.INFO)
        # urllib3 logs each request line, path and all, at DEBUG: a webhook's path is its secret.
        logging.getLogger("urllib3").setLevel(logging.INFO)
    return apprise


def send(url, title, body):
    """(ok, answer): whether the channel took the alert, and what it said (secrets masked)."""
    apprise = _apprise()
    timeout = current_app.config["ALERT_TIMEOUT_SECONDS"]
    try:
        notifier = apprise.Apprise()
        if not notifier.add(url):
            return False, "Apprise does not understand this URL (an unknown scheme, or a part missing)."
        for service in notifier:
            service.socket_connect_timeout = service.socket_read_timeout = timeout
        with notifier.notify(body=body, title=title, timeout=timeout, log_level=logging.INFO) as result:
            ok = bool(result)
            # The service's own lines: what the channel answered (the call's own lines only count services).
            said = " ".join(entry.message for service in result for entry in service.logs()).strip()
            if not said and not ok:
                said = f"no answer ({result.status.name.lower()})"
    except Exception as err:      # a plugin's own failure is this channel's answer, not a crash of the round
        ok, said = False, f"{type(err).__name__}: {err}"
    answer = redact(said or ("Sent." if ok else "Not sent; the channel gave no reason."), url)
    return ok, answer[:ANSWER_MAX]


def deliver_due(at=None, batches=20):
    """Claim the due outbox rows a few at a time and send each; {status: rows} of this round."""
    done = {}
    for _ in range(batches):      # a small claim each time: a slow channel holds few rows at once
        claimed = outbox.claim(at or clock_now())
        for row in claimed:
            if row["url"] is None:       # its channel was deleted under the claim
                continue
            ok, answer = send(row["url"], row["title"], row["body"])
            status = outbox.finish(row["id"], row["tries"], ok, answer, clock_now())
            done[status] = done.get(status, 0) + 1
            if status != "sent":
                log.warning("alert %d (%s) not sent, try %d: %s", row["id"], row["rule"], row["tries"], answer)
        if not claimed:
            break
    return done
