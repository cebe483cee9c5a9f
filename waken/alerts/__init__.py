"""Alerts: channels (Apprise URLs), rules, the outbox they fill, and its delivery by the scheduler worker.

Nothing here imports Apprise at module level: only delivery.send does, in the one process that
sends (the elected scheduler worker, or a command or admin test), so other workers never pay for it.
"""
