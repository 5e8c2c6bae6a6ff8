"""ExchangeClient: what a partner brand's backend uses to talk to the hub.

The class names every call it offers, service by service; each call lives in the module of its
service under partner_sdk/_client/ (registry, agreements, conversions, redemptions, members,
instructions, accruals, donations, memberships, vouchers, status_match, settlement).
"""

from __future__ import annotations

import grpc

from partner_sdk._client import (
    accruals,
    agreements,
    conversions,
    donations,
    instructions,
    members,
    memberships,
    redemptions,
    registry,
    settlement,
    status_match,
    vouchers,
)
from partner_sdk._client.connection import DEFAULT_TIMEOUT_S, MAX_MESSAGE_BYTES, PartnerConnection
from partner_sdk.keys import Ed25519PrivateKey
from partner_sdk.retry import DEFAULT_RETRY, RetryPolicy
from partner_sdk.tls import TlsOptions

__all__ = ["DEFAULT_TIMEOUT_S", "MAX_MESSAGE_BYTES", "ExchangeClient"]


class ExchangeClient(PartnerConnection):
    """A partner brand's signed connection to the hub.

    Every call is signed with the partner's key over its exact bytes and every answer is
    checked against the hub's key. Pin ``hub_public_key`` in production; without it the
    client fetches the key once from GetHubInfo and trusts it (trust on first use). For a hub
    that serves TLS pass ``tls=TlsOptions(...)``; the requests stay signed all the same.

    Example:
        >>> with ExchangeClient("hub.example:50051", partner_id="sprk", key_id="k1",
        ...                     private_key=load_private_key("sprk.pem")) as client:
        ...     client.get_partner("sprk").status
    """

    def __init__(
        self,
        target: str,
        *,
        partner_id: str,
        key_id: str,
        private_key: Ed25519PrivateKey,
        hub_public_key: bytes | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy = DEFAULT_RETRY,
        channel: grpc.Channel | None = None,
        tls: TlsOptions | None = None,
    ) -> None:
        super().__init__(
            target,
            principal=partner_id,
            key_id=key_id,
            private_key=private_key,
            hub_public_key=hub_public_key,
            timeout_s=timeout_s,
            retry=retry,
            channel=channel,
            tls=tls,
        )
        self.partner_id = partner_id

    # HubService and RegistryService: partner_sdk/_client/registry.py
    hub_info = registry.hub_info
    get_partner = registry.get_partner
    list_partners = registry.list_partners
    iter_partners = registry.iter_partners
    register = registry.register
    rotate_key = registry.rotate_key
    revoke_key = registry.revoke_key

    # AgreementService: partner_sdk/_client/agreements.py
    propose_agreement = agreements.propose_agreement
    accept_agreement = agreements.accept_agreement
    get_agreement = agreements.get_agreement
    list_agreements = agreements.list_agreements
    iter_agreements = agreements.iter_agreements
    suspend_agreement = agreements.suspend_agreement
    resume_agreement = agreements.resume_agreement
    terminate_agreement = agreements.terminate_agreement

    # ConversionService: partner_sdk/_client/conversions.py
    quote_conversion = conversions.quote_conversion
    convert = conversions.convert
    convert_batch = conversions.convert_batch
    get_conversion = conversions.get_conversion
    list_conversions = conversions.list_conversions
    iter_conversions = conversions.iter_conversions
    reverse_conversion = conversions.reverse_conversion

    # RedemptionService (holds): partner_sdk/_client/redemptions.py
    authorize_hold = redemptions.authorize_hold
    capture_hold = redemptions.capture_hold
    void_hold = redemptions.void_hold
    get_hold = redemptions.get_hold

    # MemberService (links, attributes, consent, erasure): partner_sdk/_client/members.py
    create_link_code = members.create_link_code
    redeem_link_code = members.redeem_link_code
    unlink = members.unlink
    list_links = members.list_links
    declare_attribute = members.declare_attribute
    publish_attributes = members.publish_attributes
    grant_consent = members.grant_consent
    revoke_consent = members.revoke_consent
    list_consents = members.list_consents
    read_attributes = members.read_attributes
    list_access_log = members.list_access_log
    erase_member = members.erase_member

    # InstructionService: partner_sdk/_client/instructions.py
    pull_instructions = instructions.pull_instructions
    acknowledge_instruction = instructions.acknowledge_instruction
    reject_instruction = instructions.reject_instruction

    # AccrualService: partner_sdk/_client/accruals.py
    propose_accrual_agreement = accruals.propose_accrual_agreement
    accept_accrual_agreement = accruals.accept_accrual_agreement
    get_accrual_agreement = accruals.get_accrual_agreement
    award_points = accruals.award_points
    award = accruals.award
    get_award = accruals.get_award

    # DonationService: partner_sdk/_client/donations.py
    propose_donation_agreement = donations.propose_donation_agreement
    accept_donation_agreement = donations.accept_donation_agreement
    donate = donations.donate
    list_donations = donations.list_donations

    # MembershipService: partner_sdk/_client/memberships.py
    propose_membership_agreement = memberships.propose_membership_agreement
    sign_membership_agreement = memberships.sign_membership_agreement
    get_membership_agreement = memberships.get_membership_agreement
    enrol = memberships.enrol
    renew_membership = memberships.renew_membership
    report_renewal_failure = memberships.report_renewal_failure
    cancel_membership = memberships.cancel_membership
    get_membership = memberships.get_membership
    list_memberships = memberships.list_memberships
    issue_membership_pass = memberships.issue_membership_pass
    list_vouchers = memberships.list_vouchers
    iter_vouchers = memberships.iter_vouchers
    redeem_voucher = memberships.redeem_voucher

    # VoucherService: partner_sdk/_client/vouchers.py
    propose_voucher_agreement = vouchers.propose_voucher_agreement
    accept_voucher_agreement = vouchers.accept_voucher_agreement
    get_voucher_agreement = vouchers.get_voucher_agreement
    issue_voucher = vouchers.issue_voucher
    get_voucher = vouchers.get_voucher

    # StatusMatchService: partner_sdk/_client/status_match.py
    publish_tier_ladder = status_match.publish_tier_ladder
    publish_member_tier = status_match.publish_member_tier
    propose_match_agreement = status_match.propose_match_agreement
    accept_match_agreement = status_match.accept_match_agreement
    get_match_agreement = status_match.get_match_agreement
    request_status_match = status_match.request_status_match
    get_status_match = status_match.get_status_match
    get_tier_attestation = status_match.get_tier_attestation
    report_challenge = status_match.report_challenge

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
