"""The demonstration's members part: one member links accounts at three brands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from partner_sdk import ExchangeClient

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
