"""`coalition settlement`: what settlement staff do, as the operator or as a brand.

Every command talks to a hub over signed calls. Without --partner it signs with the operator
key (closing periods, deciding disputes, seeing every brand); with --partner, --key and --key-id
it signs as that brand (its own statements, reconciliation, disputes, payments). Those options
go before the command or after it (exchange.cli.common_options).

Exit status, as diff's: 0 done (reconcile: every line matched); 1 reconcile found breaks; 2
trouble: a usage mistake, a key or file that can't be read, a hub that refused or can't be
reached, a statement that does not verify. Each error is one line on stderr.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from exchange.cli.admin import HUB_PUBLIC_KEY, OPERATOR_KEY, TARGET
from exchange.cli.common_options import SharedOption, SharedOptions
from exchange.cli.key_files import (
    OPERATOR_KEY_PASSPHRASE_ENV,
    KeyFileError,
    public_key_from_hex,
    read_private_key,
)
from exchange.cli.output import stdout_console
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

app = typer.Typer(
    help="Settlement staff: close periods, read, export and verify statements, reconcile, disputes, payments.",
    no_args_is_help=True,
)
console = stdout_console()

PARTNER_KEY_PASSPHRASE_ENV = "COALITION_PARTNER_KEY_PASSPHRASE"  # noqa: S105 - a variable name, not a passphrase


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the staff member acts as, and at which hub: the common options, merged."""

    target: str
    partner: str | None
    key: Path | None
    key_id: str | None
    operator_key: Path
    hub_public_key: str | None


COMMON = SharedOptions(
    TARGET,
    SharedOption(
        "partner",
        str,
        "--partner",
        "Act as this brand (with --key and --key-id); default: the operator.",
        envvar="COALITION_PARTNER",
    ),
    SharedOption(
        "key",
        Path,
        "--key",
        f"The brand's private key PEM; if encrypted, its passphrase comes from {PARTNER_KEY_PASSPHRASE_ENV} "
        "or a prompt on a terminal.",
        envvar="COALITION_PARTNER_KEY",
    ),
    SharedOption(
        "key_id",
        str,
        "--key-id",
        "The id the brand registered that key under (e.g. stride-k1); needed with --partner.",
        envvar="COALITION_PARTNER_KEY_ID",
    ),
    OPERATOR_KEY,
    HUB_PUBLIC_KEY,
    build=lambda values: Identity(**values),
)
COMMON.install(
    app,
    help="Settlement staff commands. Who you act as and which hub (--target, --partner, --key, --key-id, "
    "--operator-key, --hub-public-key) may be given before the command or after it.",
)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"coalition settlement: {message}", err=True)
    raise typer.Exit(code)


def _key(path: Path, passphrase_env: str) -> Ed25519PrivateKey:
    """A private key file, plain or encrypted (passphrase from the variable, else asked on a terminal)."""
    try:
        return read_private_key(path, passphrase_env)
    except KeyFileError as error:
        _fail(str(error))


def _pinned_hub_key(who: Identity) -> bytes | None:
    if who.hub_public_key is None:
        return None
    try:
        return public_key_from_hex(who.hub_public_key)
    except ValueError as error:
        _fail(f"--hub-public-key: {error}")


@contextmanager
def _client(who: Identity) -> Iterator[ExchangeClient | OperatorClient]:
    pinned = _pinned_hub_key(who)
    client: ExchangeClient | OperatorClient
    if who.partner:
        if who.key is None or not who.key_id:
            _fail("--partner needs --key (the brand's private key PEM) and --key-id (the id it is registered under)")
        client = ExchangeClient(
            who.target,
            partner_id=who.partner,
            key_id=who.key_id,
            private_key=_key(who.key, PARTNER_KEY_PASSPHRASE_ENV),
            hub_public_key=pinned,
        )
    else:
        client = OperatorClient(
            who.target, private_key=_key(who.operator_key, OPERATOR_KEY_PASSPHRASE_ENV), hub_public_key=pinned
        )
    try:
        with client:
            yield client
    except StatementVerificationError as error:  # before ExchangeError: it is one
        _fail(f"statement does not verify: {error.message}")
    except ExchangeError as error:
        _fail(f"{error.code}: {error.message}" + (f" ({error.reason})" if error.reason else ""))


def _hub_key(client: ExchangeClient | OperatorClient) -> bytes:
    """The hub's public key: pinned with --hub-public-key, or fetched once and proven by its signature."""
    return client.transport.hub_key()


@app.command()
@COMMON.command
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
@COMMON.command
def periods(ctx: typer.Context) -> None:
    """List settlement periods, newest first."""
    with _client(ctx.obj) as client:
        console.print(periods_table(client.list_periods(page_size=100).items))


@app.command()
@COMMON.command
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
@COMMON.command
def show(ctx: typer.Context, statement_id: str) -> None:
    """Show one statement: verified summary, counterparties, payment instructions with what is paid."""
    with _client(ctx.obj) as client:
        statement = client.get_statement(statement_id)
        doc = verify_statement(statement, _hub_key(client))
        console.print(statements_table([(statement, doc)], "Statement (signature verified)"))
        console.print(counterparties_table(doc))
        console.print(instructions_table(statement.payment_instructions, "Payment instructions: paid and outstanding"))


@app.command()
@COMMON.command
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
@COMMON.command
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
        pinned = _pinned_hub_key(who)
        if pinned is None:
            _fail("--file needs --hub-public-key (the hub's key, hex) to verify offline")
        try:
            doc = verify_statement(_statement_from_json(file), pinned)
        except StatementVerificationError as error:
            _fail(f"{file} does not verify: {error.message}")
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
    except OSError as error:
        _fail(f"can't read {path}: {error.strerror or error}")
    except (ValueError, KeyError, TypeError) as error:
        _fail(f"{path} is not a statement JSON export: {type(error).__name__} {error}")


@app.command()
@COMMON.command
def reconcile(
    ctx: typer.Context,
    period_id: str,
    file: Annotated[
        Path, typer.Argument(help="The brand's CSV in the export layout.", exists=True, dir_okay=False, readable=True)
    ],
) -> None:
    """Reconcile the brand's own record of a closed period against the hub: the break report.

    Exits 0 when every line matches, 1 when there are breaks (as diff does), 2 on an error.
    """
    with _client(ctx.obj) as client, file.open(encoding="utf-8-sig", newline="") as lines:
        report = client.reconcile(period_id, lines)
        console.print(report_table(report))
        if report.breaks:
            console.print(breaks_table(client.iter_reconciliation_breaks(report.reconciliation_id)))
    if report.breaks:
        typer.echo(f"coalition settlement: {report.breaks} breaks; see the report above", err=True)
        raise typer.Exit(1)


@app.command()
@COMMON.command
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
@COMMON.command
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
@COMMON.command
def disputes(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="OPEN, ACCEPTED, CONTESTED or RESOLVED.")] = None,
) -> None:
    """List disputes the brand opened or must answer (the operator: all)."""
    with _client(ctx.obj) as client:
        console.print(disputes_table(client.list_disputes(state=state, page_size=100).items))


@app.command()
@COMMON.command
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
@COMMON.command
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
@COMMON.command
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
