"""The agent log: records stored and read, filters as SQL, exact totals, stats and the CSV export."""
