"""The gunicorn worker: headers and small bodies read in the event loop, bodies read to a deadline, connections closed after the response, per-address caps."""
