"""OperatorClient: the coalition operator's signed connection (used by `coalition admin`).

Like ExchangeClient, the class names every call it offers; each lives in the module of its
service under partner_sdk/_client/.
"""

from __future__ import annotations

import grpc

from partner_sdk import signing
from partner_sdk._client import operator, registry, settlement
from partner_sdk._client.connection import DEFAULT_TIMEOUT_S, Connection
from partner_sdk.keys import Ed25519PrivateKey, fingerprint, public_key_bytes
from partner_sdk.retry import DEFAULT_RETRY, RetryPolicy
from partner_sdk.tls import TlsOptions

__all__ = ["OperatorClient", "operator_key_id"]


def operator_key_id(private_or_public_key: bytes) -> str:
    """Name the operator key by its fingerprint: 'op-' and the first 16 hex digits."""
    return "op-" + fingerprint(private_or_public_key)[7:23]


class OperatorClient(Connection):
    """Admits, suspends and reinstates partners and closes settlement periods, signed with the operator's key."""

    def __init__(
        self,
        target: str,
        *,
        private_key: Ed25519PrivateKey,
        hub_public_key: bytes | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy = DEFAULT_RETRY,
        channel: grpc.Channel | None = None,
        tls: TlsOptions | None = None,
    ) -> None:
        super().__init__(
            target,
            principal=signing.OPERATOR_PRINCIPAL,
            key_id=operator_key_id(public_key_bytes(private_key)),
            private_key=private_key,
            hub_public_key=hub_public_key,
            timeout_s=timeout_s,
            retry=retry,
            channel=channel,
            tls=tls,
        )

    # HubService and RegistryService (reads): partner_sdk/_client/registry.py
    hub_info = registry.hub_info
    get_partner = registry.get_partner
    list_partners = registry.list_partners
    iter_partners = registry.iter_partners

    # OperatorService: partner_sdk/_client/operator.py
    approve = operator.approve
    suspend = operator.suspend
    reinstate = operator.reinstate

    # SettlementService: partner_sdk/_client/settlement.py
    close_period = settlement.close_period
    get_period = settlement.get_period
    list_periods = settlement.list_periods
    list_statements = settlement.list_statements
    iter_statements = settlement.iter_statements
    get_statement = settlement.get_statement
    iter_statement_movements = settlement.iter_statement_movements
    list_payment_instructions = settlement.list_payment_instructions
    record_payment = settlement.record_payment
    reconcile = settlement.reconcile
    iter_reconciliation_breaks = settlement.iter_reconciliation_breaks
    open_dispute = settlement.open_dispute
    respond_to_dispute = settlement.respond_to_dispute
    resolve_dispute = settlement.resolve_dispute
    get_dispute = settlement.get_dispute
    list_disputes = settlement.list_disputes
