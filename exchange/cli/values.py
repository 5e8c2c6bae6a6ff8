"""Checks of values people type on the command line, each refusing a bad one in a sentence.

Typer runs these as option callbacks, so a mistyped value stops the command before it does
anything, with `coalition serve: Invalid value for '--listen': ...` and exit 2.
"""

from __future__ import annotations

import typer

MAX_PORT = 65_535


def listen_address(value: str) -> str:
    """HOST:PORT (IPv6 hosts in brackets, `[::]:50051`) or a gRPC `unix:PATH`; empty passes (where it means none)."""
    if not value or value.startswith("unix:"):
        return value
    host, colon, port = value.rpartition(":")
    if not colon or not host:
        raise typer.BadParameter(f"{value!r} is not HOST:PORT (for example 127.0.0.1:50051)")
    if not port.isdigit() or int(port) > MAX_PORT:
        raise typer.BadParameter(f"{port!r} in {value!r} is not a port number (0 to {MAX_PORT})")
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise typer.BadParameter(f"{value!r}: write an IPv6 host in brackets, as [::1]:{port}")
    return value


def hex_public_key(value: str | None) -> str | None:
    """An Ed25519 public key as 64 hex digits, as `coalition keys show` prints it (None passes)."""
    if value is None:
        return value
    from exchange.cli.key_files import public_key_from_hex

    try:
        public_key_from_hex(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    return value
