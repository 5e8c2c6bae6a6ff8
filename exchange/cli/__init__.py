"""The `coalition` command line: serve, migrate, administer, demonstrate."""
