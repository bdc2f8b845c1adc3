"""The ``newsmon`` command line (CONTRACT.md): run, validate, inspect, feeds, figures, alerts."""
