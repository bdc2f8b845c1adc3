"""The long-running service: the application, the scheduler loop, HTTP probes, metrics, logs."""
