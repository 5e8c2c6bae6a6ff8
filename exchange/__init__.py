"""The coalition exchange hub.

Layers, outermost first: api (gRPC servicers, signing, status mapping) -> service (one
handler per command, one transaction each) -> domain (pure rules, no I/O) and store
(SQLAlchemy tables, repositories, Alembic migrations).
"""

from partner_sdk._version import __version__

__all__ = ["__version__"]
