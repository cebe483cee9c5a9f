"""The public feed: built from devices and the agent log, rendered once per change, and what is playing now."""
