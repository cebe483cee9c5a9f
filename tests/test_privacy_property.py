"""Privacy under random input: app rules, masks, lock screens, private mode and stored activities are
drawn at random, and nothing hidden shows in any public output (feed, stream, home page, embeds)."""
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waken import db
from waken.devices.registry import create_device
from waken.timeutil import to_ms

DEVICES = {"deskbox": "key-desk-0000000001", "pocketphone": "key-phone-000000002"}
PROCESSES = ["procalpha", "procbeta", "procgamma", "LockApp.exe", "loginwindow"]
LOCKS = {"lockapp.exe", "loginwindow"}   # the default lock-screen processes among them
SCHEDULES = ["", "23:00-07:00", "09:00-17:00", "22:30-06:15"]
MASK_PATTERNS = ["hush[a-z0-9]+", "(?i)PIN[0-9]{3}"]

words = st.text("abcdefghijklmnop0123456789", min_size=6, max_size=10)
activity = st.fixed_dictionaries({
    "device": st.sampled_from(sorted(DEVICES)),
    "process": st.sampled_from(PROCESSES),
    "word": words,
    "email": st.booleans(), "digits": st.booleans(), "hush": st.booleans(), "pin": st.booleans(),
    "track": st.one_of(st.none(), words),
    "push_mode": st.sampled_from(["realtime", "active"]),
})
rule = st.fixed_dictionaries({"hide": st.booleans(), "hide_title": st.booleans(),
                              "label": st.one_of(st.none(), st.just("labelled"))})
case = st.fixed_dictionaries({
    "activities": st.lists(activity, min_size=1, max_size=5),
    "rules": st.dictionaries(st.sampled_from(PROCESSES[:3]), rule, max_size=3),
    "presets": st.lists(st.sampled_from(["email", "digits", "url"]), unique=True),
    "patterns": st.lists(st.sampled_from(MASK_PATTERNS), unique=True),
    "switch": st.booleans(),
    "schedule": st.sampled_from(SCHEDULES),
    "minute": st.integers(0, 24 * 60 - 1),
    "status": st.one_of(st.none(), st.just("zzstatus")),
})


def texts(a, n):
    """(title, track, cover URL) of the n-th activity, each part a distinct token."""
    title = f"T{n}{a['word']}"
    if a["email"]:
        title += f" mail{n}{a['word']}@example.com"
    if a["digits"]:
        title += f" card 4{n}44 5555 6666"
    if a["hush"]:
        title += f" hush{n}{a['word']}"
    if a["pin"]:
        title += f" pin{n}{n}{n}"
    track = f"S{n}{a['track']}" if a["track"] else None
    cover = f"https://covers.example/c{n}{a['word']}.png" if a["track"] else None
    return title, track, cover


def hidden_parts(c, private):
    """Every string that must not appear in public output for this case."""
    hidden = set()
    for n, a in enumerate(c["activities"]):
        title, track, cover = texts(a, n)
        process_rule = c["rules"].get(a["process"])
        locked = a["process"].lower() in LOCKS
        whole_app_hidden = private or (process_rule is not None and process_rule["hide"])
        if whole_app_hidden or locked or (process_rule and process_rule["label"]):
            hidden.add(a["process"])
        if whole_app_hidden or locked or (process_rule and process_rule["hide_title"]):
            hidden.add(f"T{n}{a['word']}")
        if whole_app_hidden and track:
            hidden |= {track, cover}
        if a["email"] and ("email" in c["presets"] or private or whole_app_hidden):
            hidden.add(f"mail{n}{a['word']}@example.com")
        if a["digits"] and ("digits" in c["presets"] or private or whole_app_hidden):
            hidden.add(f"4{n}44 5555 6666")
        if a["hush"] and ("hush[a-z0-9]+" in c["patterns"] or private or whole_app_hidden):
            hidden.add(f"hush{n}{a['word']}")
        if a["pin"] and ("(?i)PIN[0-9]{3}" in c["patterns"] or private or whole_app_hidden):
            hidden.add(f"pin{n}{n}{n}")
    return hidden


def public_outputs(client):
    """Everything the public can read, as text."""
    outputs = {"feed": client.get("/api/activity").get_data(as_text=True),
               "home": client.get("/").get_data(as_text=True),
               "svg": client.get("/embed/now.svg").get_data(as_text=True),
               "json": client.get("/embed/now.json").get_data(as_text=True)}
    for name in DEVICES:
        outputs[f"svg {name}"] = client.get(f"/embed/now.svg?device={name}").get_data(as_text=True)
        outputs[f"json {name}"] = client.get(f"/embed/now.json?device={name}").get_data(as_text=True)
    stream = client.get("/api/activity/stream", buffered=False)
    try:
        outputs["stream"] = next(iter(stream.response)).decode()
    finally:
        stream.close()
    return outputs


@pytest.mark.clock(datetime(2026, 5, 1, tzinfo=UTC))
def test_nothing_hidden_reaches_any_public_output(app, client, auth, clock):
    with app.app_context(), db.write():
        for name, key in DEVICES.items():
            create_device(name, key=key)

    @settings(max_examples=40, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(case)
    def check(c):
        clock.now = datetime(2026, 5, 1, tzinfo=UTC) + timedelta(days=1, minutes=c["minute"])
        store(app, c, clock.now)
        for n, a in enumerate(c["activities"]):
            title, track, cover = texts(a, n)
            media = {"title": track, "coverUrl": cover} if track else None
            answer = client.post("/api/activity", headers=auth, json={
                "generatedHashKey": DEVICES[a["device"]], "process_name": a["process"], "process_title": title,
                "push_mode": a["push_mode"], **({"metadata": {"media": media}} if media else {})})
            assert answer.status_code == 200, answer.text
        data = client.get("/api/activity").json["data"]
        private = data["private"]
        scheduled = in_schedule(c["schedule"], c["minute"])
        assert private == (c["switch"] or scheduled)
        assert (data["ownerStatus"] or {}).get("text") == c["status"]
        hidden = hidden_parts(c, private)
        for name, text in public_outputs(client).items():
            leaked = sorted(part for part in hidden if part in text)
            assert not leaked, (name, leaked, c)
            if c["status"]:
                assert c["status"] in text, name

    check()


def in_schedule(schedule, minute):
    if not schedule:
        return False
    start, end = ((int(h) * 60 + int(m)) for h, m in (part.split(":") for part in schedule.split("-")))
    return start <= minute < end if start < end else minute >= start or minute < end


def store(app, c, at):
    """The case's settings, rules and status, replacing the previous case's (and its activities)."""
    import json
    with app.app_context(), db.write():
        for table in ("device_activity", "app_rule", "owner_status"):
            db.execute(f"DELETE FROM {table}")
        db.execute("DELETE FROM setting")
        values = {"private_mode": c["switch"], "private_schedule": c["schedule"],
                  "title_mask_presets": c["presets"], "title_masks": c["patterns"]}
        for key, value in values.items():
            db.execute("INSERT INTO setting (key, value) VALUES (?, ?)", (key, json.dumps(value)))
        for process, r in c["rules"].items():
            if r["hide"] or r["hide_title"] or r["label"]:
                db.execute("INSERT INTO app_rule (process_name, label, hide_title, hide) VALUES (?, ?, ?, ?)",
                           (process, r["label"], r["hide_title"], r["hide"]))
        if c["status"]:
            db.execute("INSERT INTO owner_status (id, emoji, text, until_at, set_at) VALUES (1, '', ?, NULL, ?)",
                       (c["status"], to_ms(at)))
