"""The bench's verdicts: waken's ingest as a share of the reference app's, and targets met or MISSED."""
import pytest

from waken.bench.report import TARGETS, judge, stored_records_per_s, versus_reference


def throughput(healthz=4000.0, device=500.0, agent=600.0, reference=1000.0):
    """Per-kind figures as load.throughput returns them (only what the ratios read)."""
    def kind(rps, cpu_ms):
        return {"rps": rps, "cpu_ms": cpu_ms}
    return {"healthz": kind(healthz, 0.3), "device": kind(device, 0.8), "agent": kind(agent, 0.6),
            "reference_device": kind(reference, 0.4), "reference_agent": kind(reference, 0.4)}


def test_ingest_is_a_share_of_the_reference():
    figures = versus_reference(throughput())
    assert figures["device_vs_reference"] == 0.5
    assert figures["agent_vs_reference"] == 0.6


def test_a_cheaper_healthz_leaves_the_reference_ratios_alone():
    assert versus_reference(throughput(healthz=4000)) == versus_reference(throughput(healthz=8000))


def test_cpu_per_request_of_both_and_as_a_share():
    figures = versus_reference(throughput())
    assert (figures["device_cpu_ms"], figures["reference_device_cpu_ms"]) == (0.8, 0.4)
    assert figures["device_cpu_vs_reference"] == 0.5
    assert figures["agent_cpu_vs_reference"] == 0.67


@pytest.mark.parametrize(("value", "verdict"), [(0.49, "MISSED"), (0.5, "met"), (0.73, "met")])
def test_device_ingest_needs_half_the_reference(value, verdict):
    target = [t for t in TARGETS if t[1] == "device_vs_reference"]
    assert judge({"device_vs_reference": value}, target) == [
        {"target": "device ingest / reference ingest >= 0.5", "value": value, "met": verdict}]


@pytest.mark.parametrize(("value", "verdict"), [(20, "met"), (20.5, "MISSED")])
def test_a_ceiling_is_met_up_to_its_limit(value, verdict):
    assert judge({"feed_p99_ms": value}, [("feed p99", "feed_p99_ms", "<=", 20)])[0]["met"] == verdict


def test_otlp_throughput_counts_only_the_batches_stored():
    # 100 batches a second of 50 records, a quarter refused with 503 (busy): 3,750 records stored.
    assert stored_records_per_s({"rps": 100.0, "statuses": {200: 75, 503: 25}}) == 3750
    assert stored_records_per_s({"rps": 100.0, "statuses": {200: 100}}) == 5000
