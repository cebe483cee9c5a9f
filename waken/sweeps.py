"""Expiry and retention sweeps, and the one in-process scheduler that runs them."""


def init_app(app):
    """Register the sweep command."""
