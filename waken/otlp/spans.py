"""GenAI spans -> agent activity fields, each child filed under its agent run (the nearest
invoke_agent or invoke_workflow ancestor) as far as the export itself shows it.

What the export cannot show (an ancestor sent in an earlier or a later export) is settled when
the records are stored: waken/otlp/lineage.py.
"""
from waken.otlp.fields import MERGED, SESSION_CHARS, Rejected, compact, summary
from waken.otlp.values import as_int, as_text, attributes, timestamp

TOOL_SPANS = ("execute_tool",)
RUN_SPANS = ("invoke_agent", "invoke_workflow")          # an agent run: its name is its children's
CHAT_SPANS = ("chat", "generate_content", "text_completion")
AGENT_SPANS = CHAT_SPANS + RUN_SPANS + ("create_agent",)
MAPPED = TOOL_SPANS + AGENT_SPANS
SPAN_STATUS_ERROR = 2           # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR
MAX_DEPTH = 64                  # ancestors followed at most (a cycle or a very deep trace stops there)


class Run:
    """The agent run a span belongs to: the run span's id (hex), its agent name and conversation."""
    __slots__ = ("span_id", "name", "conversation")

    def __init__(self, span_id, name, conversation):
        self.span_id, self.name, self.conversation = span_id, name, conversation


class Node:
    """What the lineage needs of one span of the export."""
    __slots__ = ("parent", "run", "lineage")

    def __init__(self, parent, run):
        self.parent, self.run, self.lineage = parent, run, None


def run_name(operation, attrs):
    """The agent name an invoke_agent / invoke_workflow span gives its run (None for other spans)."""
    if operation not in RUN_SPANS:
        return None
    return as_text(attrs.get("gen_ai.agent.name") or attrs.get("gen_ai.workflow.name"), 200)


def lineage(nodes, trace_id, parent):
    """The nearest agent run above a span whose parent is `parent`: a Run, ("exit", parent id hex)
    when the chain leaves the export before reaching one, or None at a root without any."""
    seen = []
    result = None
    for _ in range(MAX_DEPTH):
        if not parent:
            break
        node = nodes.get((trace_id, parent))
        if node is None:
            result = ("exit", parent.hex())
            break
        if node.lineage is not None:
            result = node.lineage[0]
            break
        if node.run is not None:
            result = node.run
            break
        seen.append(node)
        parent = node.parent
    for node in seen:       # remembered, so each span of the export is walked once
        node.lineage = (result,)
    return result


def index(message):
    """((resource attributes, span, attributes) for each span, {(trace id, span id): Node})."""
    spans, nodes = [], {}
    for resource_part in message.resource_spans:
        resource_attrs = attributes(resource_part.resource.attributes)
        for scope in resource_part.scope_spans:
            for span in scope.spans:
                attrs = attributes(span.attributes)
                name = run_name(attrs.get("gen_ai.operation.name"), attrs)
                conversation = as_text(attrs.get("gen_ai.conversation.id"), SESSION_CHARS)
                run = Run(span.span_id.hex(), name, conversation) if name else None
                nodes[(span.trace_id, span.span_id)] = Node(span.parent_span_id, run)
                spans.append((resource_attrs, span, attrs))
    return spans, nodes


def map_spans(message):
    """Each span of an ExportTraceServiceRequest in order: its activity fields, MERGED, or Rejected."""
    spans, nodes = index(message)
    for resource_attrs, span, attrs in spans:
        try:
            yield map_span(resource_attrs, span, attrs, nodes)
        except Rejected as why:
            yield why
        except (OverflowError, ValueError, OSError):
            yield Rejected("a timestamp is outside the range of dates")


def map_span(resource_attrs, span, attrs, nodes):
    """Activity fields for a GenAI span (with `_lineage` for the store), MERGED, or Rejected."""
    operation = attrs.get("gen_ai.operation.name")
    if operation not in MAPPED:
        raise Rejected(f"span '{span.name[:60]}' has gen_ai.operation.name '{str(operation)[:40]}', which is not "
                       f"mapped (only {', '.join(MAPPED)} are)" if operation else
                       f"span '{span.name[:60]}' has no gen_ai.operation.name, so it is not mapped")
    if len(span.trace_id) != 16 or len(span.span_id) != 8 or not any(span.trace_id) or not any(span.span_id):
        raise Rejected(f"span '{span.name[:60]}' has no valid trace id and span id")
    above = lineage(nodes, span.trace_id, span.parent_span_id)
    own_run = nodes[(span.trace_id, span.span_id)].run
    if own_run is not None and isinstance(above, Run) and above.name == own_run.name:
        return MERGED        # LangGraph's second invoke_agent span of the same run
    tokens_in = as_int(attrs.get("gen_ai.usage.input_tokens"))
    tokens_out = as_int(attrs.get("gen_ai.usage.output_tokens"))
    duration = None
    if span.end_time_unix_nano >= span.start_time_unix_nano > 0:
        duration = round((span.end_time_unix_nano - span.start_time_unix_nano) / 1_000_000)
    own_name = as_text(attrs.get("gen_ai.agent.name"), 200)
    trace_hex, span_hex = span.trace_id.hex(), span.span_id.hex()
    if operation in TOOL_SPANS:
        tool = as_text(attrs.get("gen_ai.tool.name"), 200) or span.name[:200] or "unknown tool"
        about = summary(attrs.get("gen_ai.tool.call.arguments"))
        kind, description = "tool_call", f"{tool} {about}" if about else tool
    else:
        subject = own_name or as_text(attrs.get("gen_ai.request.model"), 200) or span.name[:200]
        kind, description = "agent_action", f"{operation} {subject}" if subject else operation
    # Who: the `agent` attribute, else this run's or the enclosing run's agent name, else the
    # span's own gen_ai.agent.name, else the service.
    explicit = as_text(attrs.get("agent"))
    run = own_run or (above if isinstance(above, Run) else None)
    agent = explicit or (run and run.name) or own_name or as_text(resource_attrs.get("service.name"))
    settled_by = span_hex if explicit else (run.span_id if run else None)
    conversation = as_text(attrs.get("gen_ai.conversation.id"), SESSION_CHARS) or (run and run.conversation)
    error = span.status.code == SPAN_STATUS_ERROR
    return {
        "type": kind, "description": description, "status": "error" if error else "success",
        "timestamp": timestamp(span.start_time_unix_nano), "duration_ms": duration,
        "tokens_used": None if tokens_in is None and tokens_out is None else (tokens_in or 0) + (tokens_out or 0),
        "agent": agent, "idempotency_key": f"otlp-span:{trace_hex}:{span_hex}",
        "session": conversation or trace_hex,
        "metadata": compact({
            "trace_id": trace_hex, "span_id": span_hex, "parent_span_id": span.parent_span_id.hex(),
            "agent_span_id": settled_by, "span_name": span.name[:200], "operation": operation,
            "model": as_text(attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model"), 200),
            "system": as_text(attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system"), 200),
            "tool_call_id": as_text(attrs.get("gen_ai.tool.call.id"), 200),
            "input_tokens": tokens_in, "output_tokens": tokens_out,
            "error": as_text(span.status.message or attrs.get("error.type")) if error else None}),
        # For the store (waken/otlp/lineage.py): the parent outside this export, if the chain
        # left it, and whether this span is an agent run that may claim records sent before it.
        "_lineage": {"exit": above[1] if isinstance(above, tuple) else None, "trace": trace_hex,
                     "run": own_run is not None, "end": timestamp(span.end_time_unix_nano)},
    }
