"""The demonstration's members part: one member links accounts at three brands."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from partner_sdk import ExchangeClient, ReceiptVerificationError

if TYPE_CHECKING:
    from exchange.cli.demo import Checks


def tell_members_story(clients: dict[str, ExchangeClient], checks: Checks, console: Console) -> None:
    """Link a member across three brands, show the pairwise ids, refuse a reused code, unlink."""
    stride, voltline, brewhaus = clients["stride"], clients["voltline"], clients["brewhaus"]
    console.rule("14. A member links accounts at three brands")
    first = stride.create_link_code("stride-member-1041")
    console.print(f"Stride's app shows the member the code {first.code} (valid 10 minutes, single use)")
    at_volt = voltline.redeem_link_code(first.code, member_ref="volt-member-77")
    second = stride.create_link_code("stride-member-1041")
    at_brew = brewhaus.redeem_link_code(second.code, member_ref="brew-member-5")
    table = Table(title="One member, as each brand knows them")
    for column in ("brand", "its own member reference", "its pairwise id for the member"):
        table.add_column(column)
    table.add_row("stride", "stride-member-1041", first.pairwise_member_id)
    table.add_row("voltline", "volt-member-77", at_volt.pairwise_member_id)
    table.add_row("brewhaus", "brew-member-5", at_brew.pairwise_member_id)
    console.print(table)
    distinct = len({first.pairwise_member_id, at_volt.pairwise_member_id, at_brew.pairwise_member_id})
    checks.expect("every brand sees a different pairwise id for the member", "3 distinct", f"{distinct} distinct")
    checks.expect_outcome(
        "Brewhaus redeems the already used code again",
        "FAILED_PRECONDITION/LINK_CODE_INVALID",
        lambda: brewhaus.redeem_link_code(first.code, member_ref="brew-member-5"),
    )
    ended = voltline.unlink(at_volt.link_id, reason="member asked")
    links = stride.list_links("stride-member-1041")
    table = Table(title="Stride's view of the member's links")
    for column in ("link", "with", "since", "ended", "by", "why"):
        table.add_column(column)
    for link in links:
        table.add_row(
            link.link_id[:12],
            link.counterparty_id,
            link.linked_at.strftime("%H:%M:%S"),
            link.ended_at.strftime("%H:%M:%S") if link.ended_at else "",
            link.ended_by,
            link.end_reason,
        )
    console.print(table)
    checks.expect(
        "Voltline unlinks; Stride sees the link ended, Brewhaus's still live",
        "voltline ended, brewhaus live",
        ", ".join(f"{link.counterparty_id} {'ended' if link.ended_at else 'live'}" for link in links)
        if ended.ended_at
        else "not ended",
    )


def tell_consent_story(
    clients: dict[str, ExchangeClient], hub_public_key: bytes, checks: Checks, console: Console
) -> None:
    """Share attributes under consent, refuse a read, revoke, show the access log, erase the member."""
    stride, brewhaus = clients["stride"], clients["brewhaus"]
    console.rule("15. Attributes shared only with the member's consent")
    stride.declare_attribute("shoe_size", type="INTEGER", description="EU shoe size")
    stride.declare_attribute("favourite_sport", type="TEXT", description="The sport they buy most for")
    stride.publish_attributes("stride-member-1041", {"shoe_size": 43, "favourite_sport": "trail running"})
    console.print("Stride declares two attributes and publishes the member's values (sealed under the member's key)")
    brew_pairwise = brewhaus.list_links("brew-member-5")[0].pairwise_member_id
    consent = stride.grant_consent(
        "stride-member-1041",
        source_partner_id="stride",
        grantee_partner_id="brewhaus",
        attribute_keys=["shoe_size"],
        purpose="PERSONALISED_OFFERS",
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=90),
    )
    console.print("In Stride's app the member lets Brewhaus see their shoe size for personalised offers; the receipt:")
    console.print(consent.receipt.decode(), style="dim")
    try:
        consent.verify_receipt(hub_public_key)
        verdict = "verified"
    except ReceiptVerificationError as error:
        verdict = f"not verified ({error.reason})"
    checks.expect("the consent receipt carries the hub's signature", "verified", verdict)
    read = brewhaus.read_attributes(
        brew_pairwise,
        source_partner_id="stride",
        purpose="PERSONALISED_OFFERS",
        attribute_keys=["shoe_size", "favourite_sport"],
    )
    table = Table(title="Brewhaus reads two of Stride's attributes")
    for column in ("attribute", "value", "withheld because"):
        table.add_column(column)
    for key, value in read.values.items():
        table.add_row(key, str(value), "")
    for key, reason in read.withheld.items():
        table.add_row(key, "", reason)
    console.print(table)
    checks.expect(
        "a read returns only what the consent covers",
        "shoe_size=43; favourite_sport withheld NO_CONSENT",
        f"shoe_size={read.values.get('shoe_size')}; favourite_sport withheld {read.withheld.get('favourite_sport')}",
    )
    refused = brewhaus.read_attributes(
        brew_pairwise, source_partner_id="stride", purpose="FRAUD_PREVENTION", attribute_keys=["shoe_size"]
    )
    checks.expect(
        "the same read for another purpose", "withheld NO_CONSENT", f"withheld {refused.withheld.get('shoe_size')}"
    )
    brewhaus.revoke_consent("brew-member-5", consent.consent_id)
    after = brewhaus.read_attributes(
        brew_pairwise, source_partner_id="stride", purpose="PERSONALISED_OFFERS", attribute_keys=["shoe_size"]
    )
    checks.expect(
        "after the member revokes in Brewhaus's app",
        "withheld NO_CONSENT",
        f"withheld {after.withheld.get('shoe_size')}",
    )
    log = Table(title="The member's access log (as Stride's app shows it)")
    for column in ("reader", "source", "purpose", "returned", "withheld"):
        log.add_column(column)
    for entry in stride.list_access_log("stride-member-1041"):
        log.add_row(
            entry.reader_partner_id,
            entry.source_partner_id,
            entry.purpose,
            ", ".join(entry.returned_keys),
            ", ".join(entry.withheld_keys),
        )
    console.print(log)
    console.rule("16. The member asks to be forgotten")
    erased = stride.erase_member("stride-member-1041")
    console.print(
        f"data key destroyed; {erased.links_ended} link(s) ended, {erased.consents_revoked} consent(s) revoked; "
        "conversions and the ledger stay as they were"
    )
    checks.expect_outcome(
        "Brewhaus reads the erased member",
        "NOT_FOUND/MEMBER_NOT_FOUND",
        lambda: brewhaus.read_attributes(
            brew_pairwise, source_partner_id="stride", purpose="PERSONALISED_OFFERS", attribute_keys=["shoe_size"]
        ),
    )
