"""The SDK's calls, one module per service; partner_sdk/client.py and partner_sdk/operator.py compose them.

Each call is a plain function whose first parameter is the connection it is bound to
(``self``); ExchangeClient and OperatorClient name every call they offer in their class body,
so a method's home is one line away: ``convert = conversions.convert``.

    connection    the signed channel, closing, the argument checks every call shares
    registry      HubService and RegistryService: hub info, partners, registering, keys
    operator      OperatorService: approving, suspending, reinstating partners
    agreements    AgreementService
    conversions   ConversionService: quotes, conversions, reversals
    redemptions   RedemptionService: holds and captures
    members       MemberService: links, attributes, consent, access log, erasure
    instructions  InstructionService: pulling and answering instructions
    accruals      AccrualService: accrual agreements and awards
    donations     DonationService: donation agreements and donations
    memberships   MembershipService: joint paid membership agreements, memberships, passes, vouchers
    vouchers      VoucherService: voucher agreements between two brands, vouchers issued under them
    status_match  StatusMatchService: tier ladders, members' tiers, match agreements, matches, attestations
    settlement    SettlementService: periods, statements, payments, reconciliation, disputes
"""
