"""What a group of calls mixed into a client needs from that client."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from partner_sdk.transport import SignedTransport


class ClientCalls:
    """Base of the call groups (settlement, accrual, donations) that ExchangeClient and OperatorClient mix in."""

    if TYPE_CHECKING:

        @property
        def transport(self) -> SignedTransport:
            """The signed transport of the client this is mixed into."""

        def sign_document(self, document: bytes) -> bytes:
            """Sign a document (an agreement) with the key that signs the client's calls."""
