"""Stages 7–9, compare, plan and deliver: change rules between a figure's values, which alerts
an ingest raises, noise control, and delivery to the notifiers with leases and retries."""
