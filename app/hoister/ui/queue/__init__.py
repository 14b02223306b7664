"""The Queue view: what waits for facts or a retry, runs, or failed (View → Queue)."""
