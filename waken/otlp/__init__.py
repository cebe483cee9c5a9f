"""OpenTelemetry (OTLP/HTTP) into the agent log: the wire format (wire), records mapped to
activities (mapping, values), the batch validated and stored (batch), the gate (admission).

None of them is imported at start-up: the views import them on the first OTLP request,
so processes that never receive OTLP do not load protobuf.
"""
