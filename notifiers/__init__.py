"""Notifiers: one module each behind the ``Notifier`` protocol, listed in ``REGISTRY``."""
