"""OpenTelemetry (OTLP/HTTP) into the agent log: wire format in wire.py, mapping in mapping.py.

Neither module is imported at start-up: the views import them on the first OTLP request,
so processes that never receive OTLP do not load protobuf.
"""
