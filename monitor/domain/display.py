"""How a number reads wherever newsmon shows one: alerts, ``inspect``, ``validate``.

Thousands are grouped ("3,000"); a whole number has no decimals and any other one
decimal ("66.7"); a range is written with an en dash ("2,000–9,999").
"""

from __future__ import annotations

__all__ = ["format_amount", "format_number", "format_value"]


def format_number(x: float) -> str:
    """``3,000``, ``66.7``."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def format_amount(low: float, high: float) -> str:
    """One number when ``low == high``, else the range: ``3,000``, ``2,000–9,999``."""
    return format_number(low) if low == high else f"{format_number(low)}–{format_number(high)}"


def format_value(low: float, high: float, qualifier: str, unit: str) -> str:
    """E.g. ``at least 3,000 people``, ``2,000–9,999 people``, ``about 25%``."""
    prefix = "" if qualifier == "exact" else qualifier.replace("_", " ") + " "
    suffix = "%" if unit == "percent" else f" {unit}"
    return f"{prefix}{format_amount(low, high)}{suffix}"
