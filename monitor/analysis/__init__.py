"""Stages 5–6, match and extract (pure): watchlists matched against entries, and the tracked
figures read from the entries that match."""
