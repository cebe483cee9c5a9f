"""OTLP fidelity (in process, exports built and encoded by the OpenTelemetry SDK): Claude Code's
other events and kept fields, tool descriptions, agent runs naming their spans across exports,
one row per LangGraph run, and POST /v1/metrics filling sessions without double counting."""
import json
import time

from google.protobuf import json_format
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import (
    encode_metrics,
)
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.otlp_support import (
    JSON,
    MS,
    activities,
    claude_code_metrics,
    export,
    sdk_logs,
)
from tests.support import db_rows


def session(client, auth, key):
    return client.get(f"/api/agent-sessions/{key}", headers=auth).json["session"]


def event(name, **attributes):
    return LogRecord(timestamp=time.time_ns() - 1000 * MS, body=f"claude_code.{name}",
                     attributes={"event.name": name, "session.id": "cc-f", **attributes})


def test_claude_code_events_and_fields_are_kept_and_a_prompt_is_only_its_length(app, client, auth):
    command = "pytest -q tests/ " + "x" * 300
    logs = sdk_logs(
        "claude-code",
        event("tool_result", tool_name="Bash", success="true", tool_use_id="toolu_01", decision_type="accept",
              decision_source="config", **{"agent.name": "code-reviewer"},
              tool_parameters=json.dumps({"bash_command": "pytest", "full_command": command, "timeout": 120})),
        event("tool_result", tool_name="mcp__db__query", success="false", error_type="timeout",
              tool_parameters=json.dumps({"input": {"limit": 3}, "meta": {"a": 1}})),
        event("tool_decision", tool_name="Write", decision="reject", source="user_reject", tool_use_id="toolu_02"),
        event("tool_decision", tool_name="Read", decision_type="accept", source="config"),
        event("user_prompt", prompt_length="27", prompt="delete the secret database"),
        event("api_error", model="claude-sonnet-4", error="Overloaded", status_code="529", attempt=2,
              duration_ms=300))
    answer = export(client, auth, "/v1/logs", encode_logs(logs).SerializeToString())
    assert answer.data == b""        # everything mapped: no partial success
    found = activities(client, auth, session="cc-f")
    assert [(r["type"], r["description"], r["status"]) for r in found] == [
        ("tool_call", ("Bash " + command)[:205], "success"),      # the full command, cut at 200
        ("tool_call", "mcp__db__query", "error"),                  # wrapper JSON is no description
        ("permission", "Write reject", "error"),
        ("permission", "Read accept", "success"),
        ("prompt", "prompt (27 characters)", "success"),
        ("api_request", "claude-sonnet-4 request failed: Overloaded", "error")]
    assert found[0]["metadata"] == {"session.id": "cc-f", "agent.name": "code-reviewer", "tool_name": "Bash",
                                    "tool_use_id": "toolu_01", "decision": "accept", "decision_source": "config"}
    assert found[1]["metadata"]["error_type"] == "timeout"
    assert found[2]["metadata"]["decision_source"] == "user_reject"
    assert found[4]["metadata"]["prompt_length"] == 27
    assert found[5]["metadata"]["status_code"] == "529" and found[5]["duration_ms"] == 300
    stored = db_rows(app, "SELECT group_concat(description || coalesce(metadata, ''), ' ') FROM agent_activity")[0][0]
    assert "secret" not in stored


def make_tracer():
    provider = TracerProvider(resource=Resource.create({"service.name": "lg-app"}))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider.get_tracer("langgraph"), memory


def agent_run(outer_twice=False, operations=("chat", "execute_tool")):
    """invoke_agent researcher (twice, nested, as LangGraph does) → execute_task node → children."""
    tracer, memory = make_tracer()
    start = time.time_ns() - 2000 * MS
    run = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "researcher",
           "gen_ai.conversation.id": "thread-9"}
    with tracer.start_as_current_span("invoke_agent researcher", start_time=start, attributes=run,
                                      end_on_exit=False) as outer:
        inner = tracer.start_as_current_span("invoke_agent researcher", start_time=start + 5 * MS, attributes=run,
                                             end_on_exit=False) if outer_twice else None
        if inner is not None:
            inner_span = inner.__enter__()
        with tracer.start_as_current_span("execute_task agent", start_time=start + 10 * MS, end_on_exit=False,
                                          attributes={"gen_ai.operation.name": "execute_task"}) as task:
            for n, operation in enumerate(operations):
                with tracer.start_as_current_span(f"{operation} step", start_time=start + (20 + 10 * n) * MS,
                                                  end_on_exit=False, attributes={
                                                      "gen_ai.operation.name": operation,
                                                      "gen_ai.request.model": "gpt-4o",
                                                      "gen_ai.tool.name": "search"}) as child:
                    child.end(end_time=start + (25 + 10 * n) * MS)
            task.end(end_time=start + 90 * MS)
        if inner is not None:
            inner_span.end(end_time=start + 95 * MS)
            inner.__exit__(None, None, None)
        outer.end(end_time=start + 100 * MS)
    return memory.get_finished_spans()      # in the order they ended: children first


def test_children_sent_before_their_run_take_its_name_and_session(client, auth):
    spans = agent_run(operations=("chat", "execute_tool", "generate_content", "text_completion"))
    for span in spans:                       # one export per span, as the simple processor sends them
        export(client, auth, "/v1/traces", encode_spans([span]).SerializeToString())
    found = activities(client, auth)
    assert {(r["agent"], r["session"]) for r in found} == {("researcher", "thread-9")}
    assert sorted(r["type"] for r in found) == ["agent_action"] * 4 + ["tool_call"]
    # The other way round: the run stored first, its children in a later export.
    again = agent_run()
    export(client, auth, "/v1/traces", encode_spans([again[-1]]).SerializeToString())
    export(client, auth, "/v1/traces", encode_spans(again[:-1]).SerializeToString())
    assert {(r["agent"], r["session"]) for r in activities(client, auth)} == {("researcher", "thread-9")}
    assert session(client, auth, "thread-9")["agents"] == ["researcher"]


def test_langgraph_double_invoke_agent_spans_are_one_row_in_any_order(app, client, auth):
    together = agent_run(outer_twice=True)
    export(client, auth, "/v1/traces", encode_spans(together).SerializeToString())
    runs = activities(client, auth, type="agent_action")
    assert [r["description"] for r in runs].count("invoke_agent researcher") == 1
    apart = agent_run(outer_twice=True)
    for span in apart:
        export(client, auth, "/v1/traces", encode_spans([span]).SerializeToString())
    trace = f"{apart[0].context.trace_id:032x}"
    mine = [r for r in activities(client, auth) if r["metadata"]["trace_id"] == trace]
    [run] = [r for r in mine if r["metadata"]["operation"] == "invoke_agent"]
    assert run["duration_ms"] == 100 and {r["agent"] for r in mine} == {"researcher"} and len(mine) == 3
    before = db_rows(app, "SELECT * FROM agent_activity ORDER BY id")
    for span in apart:                        # a resend changes nothing
        export(client, auth, "/v1/traces", encode_spans([span]).SerializeToString())
    assert db_rows(app, "SELECT * FROM agent_activity ORDER BY id") == before


def test_invoke_workflow_is_a_run(client, auth):
    tracer, memory = make_tracer()
    with tracer.start_as_current_span("invoke_workflow triage", attributes={
            "gen_ai.operation.name": "invoke_workflow", "gen_ai.agent.name": "triage"}):
        with tracer.start_as_current_span("chat", attributes={"gen_ai.operation.name": "chat"}):
            pass
    export(client, auth, "/v1/traces", encode_spans(memory.get_finished_spans()).SerializeToString())
    assert sorted((r["description"], r["agent"]) for r in activities(client, auth)) == [
        ("chat chat", "triage"), ("invoke_workflow triage", "triage")]


# --- metrics ---------------------------------------------------------------------------------


def metrics_body(*args, **kwargs):
    return encode_metrics(claude_code_metrics(*args, **kwargs)).SerializeToString()


def test_metrics_fill_a_session_without_api_requests_and_a_resend_changes_nothing(client, auth):
    body = metrics_body("claude-code", [("m-1", "claude-opus-4", 1000, 200, 0.0421),
                                        ("m-1", "claude-haiku", 50, 5, 0.0002)])
    answer = export(client, auth, "/v1/metrics", body)
    assert b"claude_code.session.count" in answer.data     # counted as rejected, with its name
    assert ExportMetricsServiceResponse.FromString(answer.data).partial_success.rejected_data_points == 1
    summary = session(client, auth, "m-1")
    assert (summary["records"], summary["tokensUsed"], summary["costUsd"]) == (2, 1255, 0.0423)
    assert sorted(summary["models"]) == ["claude-haiku", "claude-opus-4"]
    export(client, auth, "/v1/metrics", body)
    export(client, auth, "/v1/metrics", json.dumps(json_format.MessageToDict(
        ExportMetricsServiceRequest.FromString(body))), JSON)
    assert session(client, auth, "m-1") == summary


def test_logs_win_over_metrics_in_either_order(client, auth):
    request = event("api_request", model="claude-opus-4", input_tokens=1000, output_tokens=200,
                    cost_usd="0.0421", **{"session.id": "m-2"})
    logs = encode_logs(sdk_logs("claude-code", request)).SerializeToString()
    usage = [("m-2", "claude-opus-4", 1000, 200, 0.0421)]
    export(client, auth, "/v1/metrics", metrics_body("claude-code", usage))        # metrics first
    export(client, auth, "/v1/logs", logs)
    after = session(client, auth, "m-2")
    assert (after["records"], after["tokensUsed"], after["costUsd"]) == (1, 1200, 0.0421)
    export(client, auth, "/v1/metrics", metrics_body("claude-code", usage))        # then metrics again
    assert session(client, auth, "m-2") == after


def test_a_cumulative_stream_keeps_its_newest_values(client, auth):
    export(client, auth, "/v1/metrics", metrics_body("claude-code", [("m-3", "claude-haiku", 10, 1, 0.001)],
                                                     delta=False, extra=False))
    newer = metrics_body("claude-code", [("m-3", "claude-haiku", 30, 3, 0.003)], delta=False, extra=False)
    export(client, auth, "/v1/metrics", newer)
    summary = session(client, auth, "m-3")
    # A cumulative point is the total so far: the newer one replaces the older.
    assert (summary["records"], summary["tokensUsed"], summary["costUsd"]) == (1, 33, 0.003)
