"""Persistence: SQLAlchemy Core tables, repositories, the database handle and migrations."""
