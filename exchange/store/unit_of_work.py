"""The SQL adapters of the service ports (exchange.service.ports): repositories on one connection.

The api's call pipeline opens the transaction (isolation, group commit, retries) and hands the
service a unit of work built on its connection; everything the command reads and writes goes
through these repositories, in that one transaction.
"""

from __future__ import annotations

from sqlalchemy import Connection

from exchange.store.agreements_repo import AgreementRepository
from exchange.store.conversions_repo import ConversionRepository
from exchange.store.instructions_repo import InstructionRepository
from exchange.store.ledger_repo import LedgerRepository


class SqlConversionWork:
    """The conversion commands' unit of work (exchange.service.ports.ConversionWork) on a connection."""

    __slots__ = ("agreements", "connection", "conversions", "instructions", "ledger")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.conversions = ConversionRepository(connection)
        self.agreements = AgreementRepository(connection)
        self.ledger = LedgerRepository(connection)
        self.instructions = InstructionRepository(connection)
