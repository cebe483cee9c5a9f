"""`make bench` (`python -m waken.bench`): waken started like `make run`, measured over loopback.

A tool beside the app: only `make bench` imports it (and the tests its /proc readings), never waken.
"""
