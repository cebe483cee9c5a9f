"""Devices and their reports: the registry, merge-or-start of a report, the apps seen, and the rules for public output."""
