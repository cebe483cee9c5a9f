"""The report's fast load (PlainLoader) answers exactly as ReportSchema.load does, valid or not."""
import itertools
import json
import random

import pytest
from marshmallow import ValidationError

from waken.bench.traffic import Reporter
from waken.schemas.reports import report_loader, report_schema

# Values that each field takes or refuses, in every type JSON has.
VALUES = [None, True, False, 0, 1, 1.0, 1.5, -1, 100.0, 101, 1441, 2**70, "", " ", " x ", "Desktop",
          " ACTIVE ", "persistent", "realtime", "x" * 129, "x" * 2000, [], {}, {"media": {"title": "T"}}]
KEYS = ["generatedHashKey", "process_name", "process_title", "device", "battery_level", "is_charging",
        "isCharging", "device_type", "push_mode", "persist_minutes", "metadata", "unknown_key"]


def _outcome(load, body):
    try:
        result = load(dict(body))
    except ValidationError as err:
        return "refused", err.messages
    return "loaded", list(result.items())   # the order of the keys too


def _bodies():
    reporter = Reporter(["desk-key-0001", "desk-key-0002"], {}, random.Random(3))
    base = [json.loads(reporter.next()[0].split(b"\r\n\r\n", 1)[1]) for _ in range(60)]
    rng = random.Random(5)
    yield from base
    for key, value in itertools.product(KEYS, VALUES):
        yield {**base[0], key: value}
    for key in KEYS:
        yield {k: v for k, v in base[1].items() if k != key}
    for _ in range(3000):
        body = dict(rng.choice(base))
        for key in rng.sample(KEYS, rng.randint(1, 4)):
            body[key] = rng.choice(VALUES)
        yield body


def test_the_fast_load_agrees_with_the_schema():
    outcomes = [(_outcome(report_loader.load, body), _outcome(report_schema.load, body)) for body in _bodies()]
    assert all(fast == schema for fast, schema in outcomes)
    kinds = {fast[0] for fast, _ in outcomes}
    assert kinds == {"loaded", "refused"}   # both paths were exercised


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_a_body_that_is_no_object_is_refused_by_the_schema(body):
    with pytest.raises(ValidationError) as fast:
        report_loader.load(body)
    with pytest.raises(ValidationError) as schema:
        report_schema.load(body)
    assert fast.value.messages == schema.value.messages
