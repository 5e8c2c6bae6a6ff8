"""The coalition exchange hub.

Layers, outermost first: api (gRPC servicers, signing, status mapping) -> service (one
handler per command, one transaction each) -> domain (pure rules, no I/O) and store
(SQLAlchemy tables, repositories, Alembic migrations).
"""

from importlib import metadata

# The installed distribution's version (pyproject takes it from partner_sdk/_version.py). Read
# from the metadata rather than by importing partner_sdk, whose package imports grpc: a command
# that needs no gRPC (db status, the health probe) then neither loads nor starts it.
try:
    __version__ = metadata.version("coalition-exchange")
except metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
