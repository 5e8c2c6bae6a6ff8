"""Identifiers the hub mints: a short prefix naming the kind, then 128 random bits in hex."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    """Return a fresh id such as 'cnv-9f86d081884c7d659a2feaa0c55ad015'."""
    return f"{prefix}-{secrets.token_hex(16)}"
