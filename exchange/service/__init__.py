"""Command handlers: one function per command, each run inside one database transaction."""
