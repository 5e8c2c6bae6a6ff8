"""`coalition settlement`: what settlement staff do, as the operator or as a brand.

Every command talks to a hub over signed calls. Without --partner it signs with the operator
key (closing periods, deciding disputes, seeing every brand); with --partner and --key it signs
as that brand (its own statements, reconciliation, disputes, payments).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from exchange.api.server import DEFAULT_LISTEN
from exchange.cli.admin import DEFAULT_KEY
from exchange.cli.key_files import OPERATOR_KEY_PASSPHRASE_ENV, KeyFileError, read_private_key
from exchange.cli.settlement_view import (
    EXPORT_FORMATS,
    breaks_table,
    counterparties_table,
    disputes_table,
    export_statement,
    instructions_table,
    periods_table,
    report_table,
    statements_table,
)
from partner_sdk import ExchangeClient, ExchangeError, OperatorClient
from partner_sdk.keys import Ed25519PrivateKey
from partner_sdk.settlement import (
    Statement,
    StatementVerificationError,
    canonical_json,
    verify_chain,
    verify_statement,
)
from partner_sdk.settlement_client import SettlementCalls

app = typer.Typer(
    help="Settlement staff: close periods, read, export and verify statements, reconcile, disputes, payments.",
    no_args_is_help=True,
)
console = Console()

TargetOption = Annotated[str, typer.Option("--target", help="Hub address.")]
PartnerOption = Annotated[
    str | None, typer.Option("--partner", help="Act as this brand (with --key); default: the operator.")
]
KeyOption = Annotated[Path | None, typer.Option("--key", help="The brand's private key PEM (with --partner).")]
KeyIdOption = Annotated[str, typer.Option("--key-id", help="The brand's key id.")]
OperatorKeyOption = Annotated[Path, typer.Option("--operator-key", help="The operator's private key PEM.")]
HubKeyOption = Annotated[
    str | None, typer.Option("--hub-public-key", help="Pin the hub's public key (hex); default: ask the hub.")
]


class Identity:
    """Who the staff member acts as, from the common options."""

    def __init__(
        self,
        target: str,
        partner: str | None,
        key: Path | None,
        key_id: str,
        operator_key: Path,
        hub_public_key: str | None,
    ) -> None:
        self.target, self.partner, self.key, self.key_id = target, partner, key, key_id
        self.operator_key, self.hub_public_key = operator_key, hub_public_key


def _key(path: Path, passphrase_env: str | None) -> Ed25519PrivateKey:
    """A private key file, plain or encrypted (passphrase from the variable, else asked on a terminal)."""
    try:
        return read_private_key(path, passphrase_env)
    except KeyFileError as error:
        typer.echo(f"coalition settlement: {error}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def _client(who: Identity) -> Iterator[ExchangeClient | OperatorClient]:
    pinned = bytes.fromhex(who.hub_public_key) if who.hub_public_key else None
    try:
        if who.partner:
            if who.key is None:
                raise typer.BadParameter("--partner needs --key (the brand's private key PEM)")
            client: ExchangeClient | OperatorClient = ExchangeClient(
                who.target,
                partner_id=who.partner,
                key_id=who.key_id,
                private_key=_key(who.key, None),
                hub_public_key=pinned,
            )
        else:
            client = OperatorClient(
                who.target, private_key=_key(who.operator_key, OPERATOR_KEY_PASSPHRASE_ENV), hub_public_key=pinned
            )
        with client:
            yield client
    except ExchangeError as error:
        console.print(f"[red]{error.code}: {error.message}[/red]" + (f" ({error.reason})" if error.reason else ""))
        raise typer.Exit(1) from None
    except StatementVerificationError as error:
        console.print(f"[red]statement does not verify: {error}[/red]")
        raise typer.Exit(2) from None


def _hub_key(client: SettlementCalls) -> bytes:
    """The hub's public key: pinned with --hub-public-key, or fetched once and proven by its signature."""
    return client.transport.hub_key()


@app.callback()
def identity(
    ctx: typer.Context,
    target: TargetOption = DEFAULT_LISTEN,
    partner: PartnerOption = None,
    key: KeyOption = None,
    key_id: KeyIdOption = "k1",
    operator_key: OperatorKeyOption = DEFAULT_KEY,
    hub_public_key: HubKeyOption = None,
) -> None:
    """Settlement staff commands (options before the command: who you act as and which hub)."""
    ctx.obj = Identity(target, partner, key, key_id, operator_key, hub_public_key)


@app.command()
def close(
    ctx: typer.Context,
    period_id: Annotated[str | None, typer.Argument(help="The open period; default: whichever is open.")] = None,
    cutoff: Annotated[
        datetime | None, typer.Option(help="Cut-off, ISO 8601 UTC; later movements go to the next period.")
    ] = None,
) -> None:
    """Close a settlement period (operator): sign every brand's statement and net the payments."""
    with _client(ctx.obj) as client:
        period = period_id or client.get_period().period_id
        closed, following, now = client.close_period(period, cutoff=_utc(cutoff))
        console.print(periods_table([closed, following], "Closed now" if now else "Already closed (unchanged)"))
        rows = [
            (s, verify_statement(s, _hub_key(client)))
            for s in client.iter_statements()
            if s.period_id == closed.period_id
        ]
        console.print(statements_table(rows, f"Statements of {closed.period_id} (signatures verified)"))
        console.print(instructions_table(client.list_payment_instructions(period_id=closed.period_id).items))


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command()
def periods(ctx: typer.Context) -> None:
    """List settlement periods, newest first."""
    with _client(ctx.obj) as client:
        console.print(periods_table(client.list_periods(page_size=100).items))


@app.command()
def statements(
    ctx: typer.Context,
    brand: Annotated[str, typer.Option("--brand", help="Only this brand's (operator).")] = "",
) -> None:
    """List statements (a brand: its own), each verified against the hub's key."""
    with _client(ctx.obj) as client:
        key = _hub_key(client)
        rows = [(s, verify_statement(s, key)) for s in client.iter_statements(partner_id=brand)]
        console.print(statements_table(rows))


@app.command()
def show(ctx: typer.Context, statement_id: str) -> None:
    """Show one statement: verified summary, counterparties, payment instructions with what is paid."""
    with _client(ctx.obj) as client:
        statement = client.get_statement(statement_id)
        doc = verify_statement(statement, _hub_key(client))
        console.print(statements_table([(statement, doc)], "Statement (signature verified)"))
        console.print(counterparties_table(doc))
        console.print(instructions_table(statement.payment_instructions, "Payment instructions: paid and outstanding"))


@app.command()
def export(
    ctx: typer.Context,
    statement_id: str,
    out: Annotated[Path, typer.Option("--out", help="Folder to write into.")] = Path("statements"),
    formats: Annotated[
        list[str] | None, typer.Option("--format", help="csv, json or html; repeat for several (default: all).")
    ] = None,
) -> None:
    """Export a statement as CSV (one line per movement, header and trailers), JSON and printable HTML."""
    chosen = formats or list(EXPORT_FORMATS)
    unknown = set(chosen) - set(EXPORT_FORMATS)
    if unknown:
        raise typer.BadParameter(f"unknown format(s): {', '.join(sorted(unknown))}")
    with _client(ctx.obj) as client:
        statement = client.get_statement(statement_id)
        doc = verify_statement(statement, _hub_key(client))
        for path in export_statement(client, statement, doc, out, chosen, console):
            console.print(f"wrote {path}")


@app.command()
def verify(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Option("--file", help="Verify an exported JSON statement offline (needs --hub-public-key).")
    ] = None,
    brand: Annotated[str, typer.Option("--brand", help="Only this brand's chain (operator).")] = "",
) -> None:
    """Verify statements: every signature and each brand's hash chain (or one exported file, offline)."""
    who: Identity = ctx.obj
    if file is not None:
        if not who.hub_public_key:
            raise typer.BadParameter("--file needs --hub-public-key (the hub's key, hex) to verify offline")
        try:
            doc = verify_statement(_statement_from_json(file), bytes.fromhex(who.hub_public_key))
        except StatementVerificationError as error:
            console.print(f"[red]{file} does not verify: {error}[/red]")
            raise typer.Exit(2) from None
        console.print(f"[green]{file}: signature and arithmetic verify[/green] ({doc.statement_id})")
        return
    with _client(who) as client:
        by_brand: dict[str, list[Statement]] = {}
        for statement in client.iter_statements(partner_id=brand):
            by_brand.setdefault(statement.partner_id, []).append(statement)
        key = _hub_key(client)
        for partner_id, chain in sorted(by_brand.items()):
            docs = verify_chain(chain, key)
            console.print(f"[green]{partner_id}: {len(docs)} statements, signatures and chain verify[/green]")


def _statement_from_json(path: Path) -> Statement:
    """Rebuild the signed envelope from a JSON export (the document is canonical, so its bytes come back)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        document = canonical_json(data["statement"])
        return Statement(
            statement_id=data["statement"]["statement_id"],
            partner_id=data["statement"]["partner_id"],
            period_id=data["statement"]["period"]["period_id"],
            sequence=data["statement"]["sequence"],
            document=document,
            document_sha256=data["document_sha256"],
            previous_statement_sha256=data["statement"]["previous_statement_sha256"],
            signature=base64.b64decode(data["signature_base64"]),
            hub_key_id=data["hub_key_id"],
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise typer.BadParameter(f"{path} is not a statement JSON export: {error}") from None


@app.command()
def reconcile(
    ctx: typer.Context,
    period_id: str,
    file: Annotated[Path, typer.Argument(help="The brand's CSV in the export layout.")],
) -> None:
    """Reconcile the brand's own record of a closed period against the hub: the break report."""
    with _client(ctx.obj) as client, file.open(encoding="utf-8-sig", newline="") as lines:
        report = client.reconcile(period_id, lines)
        console.print(report_table(report))
        if report.breaks:
            console.print(breaks_table(client.iter_reconciliation_breaks(report.reconciliation_id)))


@app.command()
def payments(
    ctx: typer.Context,
    period_id: Annotated[str, typer.Option("--period", help="Only this period's.")] = "",
    outstanding: Annotated[bool, typer.Option(help="Only what is not yet paid in full.")] = False,
) -> None:
    """List payment instructions with what is paid and outstanding."""
    with _client(ctx.obj) as client:
        items = client.list_payment_instructions(period_id=period_id, outstanding_only=outstanding, page_size=100)
        console.print(instructions_table(items.items))


@app.command()
def pay(
    ctx: typer.Context,
    instruction_id: str,
    amount_minor: int,
    reference: Annotated[str, typer.Option(help="The bank or payment-system reference.")],
) -> None:
    """Record a payment made against a payment instruction."""
    with _client(ctx.obj) as client:
        status = client.record_payment(instruction_id, amount_minor, payment_reference=reference)
        console.print(instructions_table([status], "Recorded"))


@app.command()
def disputes(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="OPEN, ACCEPTED, CONTESTED or RESOLVED.")] = None,
) -> None:
    """List disputes the brand opened or must answer (the operator: all)."""
    with _client(ctx.obj) as client:
        console.print(disputes_table(client.list_disputes(state=state, page_size=100).items))


@app.command()
def dispute(
    ctx: typer.Context,
    claimed_amount_minor: Annotated[int, typer.Option("--claim", help="Minor units the counterparty owes you.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    movement: Annotated[str, typer.Option(help="The movement disputed.")] = "",
    statement: Annotated[str, typer.Option(help="Or: the statement...")] = "",
    counterparty: Annotated[str, typer.Option(help="...the line's counterparty...")] = "",
    currency: Annotated[str, typer.Option(help="...and its currency.")] = "",
    evidence: Annotated[str, typer.Option(help="Evidence text.")] = "",
) -> None:
    """Open a dispute on a movement or a statement line (as a brand)."""
    with _client(ctx.obj) as client:
        opened = client.open_dispute(
            claimed_amount_minor=claimed_amount_minor,
            reason=reason,
            movement_id=movement,
            statement_id=statement,
            counterparty=counterparty,
            currency=currency,
            evidence=evidence,
        )
        console.print(disputes_table([opened], "Opened"))


@app.command()
def respond(
    ctx: typer.Context,
    dispute_id: str,
    accept: Annotated[bool, typer.Option("--accept/--contest", help="Accept the claim or contest it.")],
    note: Annotated[str, typer.Option(help="Why.")],
) -> None:
    """Answer a dispute as its counterparty: accept (the claim is posted) or contest (the operator decides)."""
    with _client(ctx.obj) as client:
        console.print(disputes_table([client.respond_to_dispute(dispute_id, accept=accept, note=note)], "Answered"))


@app.command()
def resolve(
    ctx: typer.Context,
    dispute_id: str,
    award: Annotated[int, typer.Option(help="Minor units awarded to the opener (0 to the claim).")],
    note: Annotated[str, typer.Option(help="Why.")],
) -> None:
    """Decide a contested or unanswered dispute (operator); the award goes into the open period."""
    with _client(ctx.obj) as client:
        decided = client.resolve_dispute(dispute_id, awarded_amount_minor=award, note=note)
        console.print(disputes_table([decided], "Resolved"))
