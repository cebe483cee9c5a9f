"""The agent log: records stored and read, filters as SQL, exact totals, stats, the CSV export, sessions and cost."""
