"""`coalition demo`: the whole exchange, end to end, on an embedded SQLite hub.

Every step goes through the real gRPC server and the real SDK; the refusals shown are the
hub's own answers. The demonstration grows with the product.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

from rich.console import Console
from rich.table import Table

from coalition.exchange.v1 import operator_pb2, registry_pb2
from exchange.cli.admin import partners_table
from exchange.cli.demo_earning import tell_earning_story
from exchange.cli.demo_members import tell_consent_story, tell_members_story
from exchange.cli.demo_membership import tell_membership_story
from exchange.cli.demo_money import tell_money_story
from exchange.cli.demo_settlement import tell_settlement_story
from exchange.cli.demo_status_match import tell_status_match_story
from exchange.secrets.keyring import Keyring
from exchange.store import migrate
from exchange.store.database import Database, default_sqlite_url
from exchange.store.partners_repo import PartnerRepository
from partner_sdk import ExchangeClient, ExchangeError, OperatorClient, generate_private_key, signing
from partner_sdk.keys import Ed25519PrivateKey
from partner_sdk.testing import HubClock, LocalHub
from partner_sdk.transport import SignedTransport

OPERATOR_METHOD = "/coalition.exchange.v1.OperatorService/"
REGISTRY_METHOD = "/coalition.exchange.v1.RegistryService/"


@dataclass(frozen=True)
class Brand:
    """A fictional coalition member."""

    partner_id: str
    display_name: str
    point_currency: str
    settlement_currency: str
    point_value_minor: Fraction


BRANDS = (
    Brand("stride", "Stride Athletics", "STRD", "EUR", Fraction(1, 2)),
    Brand("voltline", "Voltline Electronics", "VOLT", "GBP", Fraction(1)),
    Brand("brewhaus", "Brewhaus Coffee", "BREW", "USD", Fraction(3, 4)),
)


@dataclass
class Checks:
    """What the demonstration expected and what the hub answered."""

    rows: list[tuple[str, str, str, bool]] = field(default_factory=list)

    def expect(self, what: str, expected: str, got: str) -> None:
        """Record one expectation and its outcome."""
        self.rows.append((what, expected, got, expected == got))

    def expect_outcome(self, what: str, expected: str, action: Callable[[], object]) -> ExchangeError | None:
        """Run action, record its outcome (OK or CODE/REASON) against expected, and return the refusal if any."""
        try:
            action()
        except ExchangeError as error:
            self.expect(what, expected, _named(error))
            return error
        self.expect(what, expected, "OK")
        return None

    def table(self) -> Table:
        """Render the checks."""
        table = Table(title="What happened")
        table.add_column("step")
        table.add_column("expected", overflow="fold")
        table.add_column("hub answered", overflow="fold")
        table.add_column("")
        for what, expected, got, ok in self.rows:
            table.add_row(what, expected, got, "[green]ok[/green]" if ok else "[red]UNEXPECTED[/red]")
        return table

    @property
    def all_ok(self) -> bool:
        """Whether every expectation held."""
        return all(ok for *_, ok in self.rows)


def _named(error: ExchangeError) -> str:
    return f"{error.code}/{error.reason}" if error.reason else error.code


def _outcome(action: Callable[[], object]) -> str:
    """Run a zero-argument callable and name its outcome: OK or CODE/REASON."""
    try:
        action()
    except ExchangeError as error:
        return _named(error)
    return "OK"


def _fresh_database(var_dir: Path) -> Database:
    for leftover in var_dir.glob("exchange.sqlite3*"):
        leftover.unlink()
    database = Database(default_sqlite_url(var_dir))
    migrate.upgrade(database)
    return database


def run_demo(var_dir: Path, console: Console) -> None:
    """Run every step, print tables, and exit non-zero if any expectation failed."""
    var_dir.mkdir(parents=True, exist_ok=True)
    if not console.is_terminal:
        console.width = max(console.width, 130)
    database = _fresh_database(var_dir)
    # The SDK's in-process hub, as a brand's own tests run it; the hub and every client share its
    # clock, so the demonstration jumps past deadlines, and it runs the expiry sweep itself.
    hub = LocalHub(database, keyring=Keyring.load_or_create(var_dir / "keyring.json")[0]).start()
    server, clock, signer, operator_private, target = hub.server, hub.clock, hub.signer, hub.operator_key, hub.target
    checks = Checks()
    console.rule("[bold]Coalition exchange demonstration")
    console.print(f"hub on {target}, database {database.url.render_as_string()}, hub key {signer.key_id}")
    clients: dict[str, ExchangeClient] = {}
    try:
        clients = _registry_story(target, signer.public_key, operator_private, clock, checks, console)
        tell_money_story(server, clock, clients, checks, console)
        tell_members_story(clients, checks, console)
        tell_consent_story(clients, signer.public_key, checks, console)
        operator = OperatorClient(target, private_key=operator_private, hub_public_key=signer.public_key)
        operator.transport.clock_ms = clock.now_ms
        with operator:
            tell_earning_story(target, signer.public_key, operator, clients, checks, console)
            tell_membership_story(server, clock, clients, signer.public_key, checks, console)
            tell_status_match_story(clock, clients, signer.public_key, checks, console)
            tell_settlement_story(operator, clients, signer.public_key, var_dir / "statements", checks, console)
        with database.engine.connect() as connection:
            events = PartnerRepository(connection).events(limit=100)
        table = Table(title="Registry events (as stored by the hub)")
        for column in ("#", "actor", "partner", "event", "detail"):
            table.add_column(column)
        for event in events:
            table.add_row(str(event.event_id), event.actor, event.partner_id, event.kind, event.detail)
        console.print(table)
        console.print(checks.table())
    finally:
        for client in clients.values():
            client.close()
        hub.stop(grace_s=2)
        database.dispose()
    if not checks.all_ok:
        raise SystemExit("the demonstration saw an unexpected answer")
    console.print("[bold green]Every step behaved as expected.[/bold green]")


def _registry_story(
    target: str,
    hub_key: bytes,
    operator_private: Ed25519PrivateKey,
    clock: HubClock,
    checks: Checks,
    console: Console,
) -> dict[str, ExchangeClient]:
    """Register, approve, rotate, refuse forgeries and replays; return each brand's working client."""
    keys = {brand.partner_id: generate_private_key() for brand in BRANDS}
    clients = {
        brand.partner_id: ExchangeClient(
            target, partner_id=brand.partner_id, key_id="k1", private_key=keys[brand.partner_id], hub_public_key=hub_key
        )
        for brand in BRANDS
    }
    operator = OperatorClient(target, private_key=operator_private, hub_public_key=hub_key)
    for client in (*clients.values(), operator):
        client.transport.clock_ms = clock.now_ms

    console.rule("1. Three brands register through the SDK")
    registered = [
        clients[b.partner_id].register(
            display_name=b.display_name,
            point_currency=b.point_currency,
            settlement_currency=b.settlement_currency,
            point_value_minor=b.point_value_minor,
        )
        for b in BRANDS
    ]
    console.print(partners_table(registered, "Registered, awaiting approval"))
    checks.expect(
        "a pending brand calls the hub",
        "UNAUTHENTICATED/PARTNER_PENDING",
        _outcome(lambda: clients["stride"].get_partner("voltline")),
    )
    checks.expect(
        "a brand registers twice",
        "ALREADY_EXISTS/PARTNER_EXISTS",
        _outcome(
            lambda: clients["stride"].register(
                display_name="Stride again", point_currency="STRD", settlement_currency="EUR", point_value_minor=1
            )
        ),
    )
    checks.expect(
        "a brand registers a currency that is not ISO 4217",
        "INVALID_ARGUMENT/UNKNOWN_CURRENCY",
        _outcome(
            lambda: ExchangeClient(
                target, partner_id="fakecoin", key_id="k1", private_key=generate_private_key(), hub_public_key=hub_key
            ).register(display_name="Fake", point_currency="FAKE", settlement_currency="XYZ", point_value_minor=1)
        ),
    )

    console.rule("2. The operator approves them")
    for brand in BRANDS:
        operator.approve(brand.partner_id)
    console.print(partners_table(list(operator.iter_partners()), "After approval"))
    checks.expect("an approved brand reads another", "OK", _outcome(lambda: clients["stride"].get_partner("voltline")))
    checks.expect(
        "a brand calls an operator-only method",
        "PERMISSION_DENIED/CALLER_NOT_ALLOWED",
        _outcome(
            lambda: clients["stride"].transport.call(
                OPERATOR_METHOD + "ApprovePartner",
                operator_pb2.ApprovePartnerRequest(partner_id="stride"),
                operator_pb2.ApprovePartnerResponse,
            )
        ),
    )

    console.rule("3. Voltline rotates its key with a one-hour overlap, then revokes the old one")
    old_client = ExchangeClient(
        target, partner_id="voltline", key_id="k1", private_key=keys["voltline"], hub_public_key=hub_key
    )
    old_client.transport.clock_ms = clock.now_ms
    rotated = clients["voltline"].rotate_key(
        "k2", generate_private_key(), previous_key_valid_until=datetime.now(UTC) + timedelta(hours=1)
    )
    _print_keys(console, rotated.keys, "Voltline's keys during the overlap")
    checks.expect("the old key during the overlap", "OK", _outcome(lambda: old_client.get_partner("voltline")))
    revoked = clients["voltline"].revoke_key("k1", reason="rotation finished")
    _print_keys(console, revoked.keys, "Voltline's keys after revoking k1")
    checks.expect(
        "the revoked key signs a call",
        "UNAUTHENTICATED/KEY_REVOKED",
        _outcome(lambda: old_client.get_partner("voltline")),
    )
    checks.expect(
        "revoking the last active key",
        "FAILED_PRECONDITION/LAST_ACTIVE_KEY",
        _outcome(lambda: clients["voltline"].revoke_key("k2", reason="oops")),
    )
    checks.expect("the new key signs a call", "OK", _outcome(lambda: clients["voltline"].get_partner("voltline")))

    console.rule("4. Forged requests")
    forger = SignedTransport(
        clients["stride"].transport.channel,
        principal="stride",
        key_id="k1",
        private_key=generate_private_key(),
        hub_public_key=hub_key,
        timeout_s=5,
    )
    checks.expect(
        "someone else's key claims to be Stride",
        "UNAUTHENTICATED/BAD_SIGNATURE",
        _outcome(
            lambda: forger.call(
                REGISTRY_METHOD + "GetPartner",
                registry_pb2.GetPartnerRequest(partner_id="stride"),
                registry_pb2.GetPartnerResponse,
            )
        ),
    )
    stride = clients["stride"].transport
    signed_for = registry_pb2.GetPartnerRequest(partner_id="stride").SerializeToString()
    headers = signing.sign_request(
        keys["stride"],
        method=REGISTRY_METHOD + "GetPartner",
        principal="stride",
        key_id="k1",
        body=signed_for,
        timestamp_ms=stride.clock_ms(),
    )
    tampered = registry_pb2.GetPartnerRequest(partner_id="brewhaus").SerializeToString()
    checks.expect(
        "Stride's signed request with its body swapped in transit",
        "UNAUTHENTICATED/BAD_SIGNATURE",
        _outcome(
            lambda: stride.send(
                REGISTRY_METHOD + "GetPartner",
                tampered,
                headers.as_metadata(),
                headers.nonce,
                registry_pb2.GetPartnerResponse,
            )
        ),
    )

    console.rule("5. Replays of a captured operator request")
    op = operator.transport
    body = operator_pb2.SuspendPartnerRequest(partner_id="brewhaus", reason="late payment").SerializeToString()
    captured = signing.sign_request(
        operator_private,
        method=OPERATOR_METHOD + "SuspendPartner",
        principal=signing.OPERATOR_PRINCIPAL,
        key_id=op.key_id,
        body=body,
        timestamp_ms=op.clock_ms(),
    )
    first = op.send(
        OPERATOR_METHOD + "SuspendPartner",
        body,
        captured.as_metadata(),
        captured.nonce,
        operator_pb2.SuspendPartnerResponse,
    )
    console.print(f"the operator suspends Brewhaus: {first.partner.status == 3 and 'SUSPENDED'}")
    checks.expect(
        "a suspended brand calls the hub",
        "UNAUTHENTICATED/PARTNER_SUSPENDED",
        _outcome(lambda: clients["brewhaus"].get_partner("brewhaus")),
    )
    operator.reinstate("brewhaus")
    again = op.send(
        OPERATOR_METHOD + "SuspendPartner",
        body,
        captured.as_metadata(),
        captured.nonce,
        operator_pb2.SuspendPartnerResponse,
    )
    checks.expect(
        "the captured suspension is resent: first answer returned, nothing re-done",
        "ACTIVE",
        operator.get_partner("brewhaus").status if again == first else "DIFFERENT ANSWER",
    )
    reused = signing.sign_request(
        operator_private,
        method=OPERATOR_METHOD + "SuspendPartner",
        principal=signing.OPERATOR_PRINCIPAL,
        key_id=op.key_id,
        body=operator_pb2.SuspendPartnerRequest(partner_id="stride", reason="x").SerializeToString(),
        timestamp_ms=op.clock_ms(),
        nonce=captured.nonce,
    )
    checks.expect(
        "the same nonce with another body",
        "UNAUTHENTICATED/NONCE_REUSED",
        _outcome(
            lambda: op.send(
                OPERATOR_METHOD + "SuspendPartner",
                operator_pb2.SuspendPartnerRequest(partner_id="stride", reason="x").SerializeToString(),
                reused.as_metadata(),
                reused.nonce,
                operator_pb2.SuspendPartnerResponse,
            )
        ),
    )
    stale = signing.sign_request(
        operator_private,
        method=OPERATOR_METHOD + "SuspendPartner",
        principal=signing.OPERATOR_PRINCIPAL,
        key_id=op.key_id,
        body=body,
        timestamp_ms=op.clock_ms() - 10 * 60 * 1000,
    )
    checks.expect(
        "a request captured ten minutes ago",
        "UNAUTHENTICATED/TIMESTAMP_TOO_OLD",
        _outcome(
            lambda: op.send(
                OPERATOR_METHOD + "SuspendPartner",
                body,
                stale.as_metadata(),
                stale.nonce,
                operator_pb2.SuspendPartnerResponse,
            )
        ),
    )
    console.print(partners_table(list(operator.iter_partners()), "The registry at the end"))
    old_client.close()
    operator.close()
    return clients


def _print_keys(console: Console, keys: tuple[object, ...], title: str) -> None:
    table = Table(title=title)
    for column in ("key", "state", "fingerprint", "not after"):
        table.add_column(column)
    for key in keys:
        table.add_row(
            key.key_id,  # type: ignore[attr-defined]
            key.state,  # type: ignore[attr-defined]
            key.fingerprint[:23],  # type: ignore[attr-defined]
            key.not_after.isoformat(timespec="seconds") if key.not_after else "",  # type: ignore[attr-defined]
        )
    console.print(table)
