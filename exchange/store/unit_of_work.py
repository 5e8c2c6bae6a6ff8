"""The SQL adapter of the service layer's port (exchange.service.ports.UnitOfWork): repositories on one connection.

The call pipeline opens the call's transaction through exchange.store.database.Database.run
(isolation, group commit, held writes, retries) and builds a SqlUnitOfWork on its connection;
everything the command reads and writes goes through these repositories, in that transaction.
"""

from __future__ import annotations

from sqlalchemy import Connection

from exchange.secrets.keyring import Keyring
from exchange.store.accruals_repo import AccrualRepository
from exchange.store.agreements_repo import AgreementRepository
from exchange.store.audit_repo import AuditRepository
from exchange.store.consent_repo import ConsentRepository
from exchange.store.conversions_repo import ConversionRepository
from exchange.store.holds_repo import HoldRepository
from exchange.store.instructions_repo import InstructionRepository
from exchange.store.ledger_repo import LedgerRepository
from exchange.store.member_vault import SqlMemberVault
from exchange.store.members_repo import MemberRepository
from exchange.store.memberships_repo import MembershipRepository
from exchange.store.partners_repo import PartnerRepository
from exchange.store.settlement_repo import SettlementRepository
from exchange.store.status_match_repo import StatusMatchRepository
from exchange.store.voucher_agreements_repo import VoucherAgreementRepository
from exchange.store.vouchers_repo import VoucherRepository


class SqlUnitOfWork:
    """A money-path command's unit of work (exchange.service.ports.UnitOfWork) on a connection."""

    __slots__ = (
        "agreements",
        "audit",
        "awards",
        "connection",
        "consents",
        "conversions",
        "holds",
        "instructions",
        "ledger",
        "members",
        "memberships",
        "movements",
        "partners",
        "status_match",
        "vault",
        "voucher_agreements",
        "vouchers",
    )

    def __init__(self, connection: Connection, keyring: Keyring | None = None) -> None:
        self.connection = connection
        self.conversions = ConversionRepository(connection)
        self.agreements = AgreementRepository(connection)
        self.partners = PartnerRepository(connection)
        self.ledger = LedgerRepository(connection)
        self.instructions = InstructionRepository(connection)
        self.holds = HoldRepository(connection)
        self.awards = AccrualRepository(connection)
        self.movements = SettlementRepository(connection)
        self.audit = AuditRepository(connection)
        self.memberships = MembershipRepository(connection)
        self.members = MemberRepository(connection)
        self.vouchers = VoucherRepository(connection)
        self.voucher_agreements = VoucherAgreementRepository(connection)
        self.status_match = StatusMatchRepository(connection)
        self.vault = SqlMemberVault(connection, keyring)
        self.consents = ConsentRepository(connection)
