"""The desktop reporter waken serves to devices: one standard-library file, waken_reporter.py."""
