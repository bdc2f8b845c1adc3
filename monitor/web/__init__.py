"""The read-only web dashboard served beside the HTTP probes."""
