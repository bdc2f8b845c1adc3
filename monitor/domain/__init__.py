"""Domain types every stage and layer may import: entries, stories, figures, alerts, errors.

Nothing here does I/O; storage and notifiers import only from this package."""
