"""The audit log: every state change on record, hash-chained, signed; an altered row is found."""

from __future__ import annotations

import sqlalchemy
from typer.testing import CliRunner

from exchange.cli import audit as audit_cli
from exchange.cli.main import app
from exchange.domain.audit import AuditEvent, BreakKind, chain
from exchange.service import audit
from exchange.store.tables import audit_checkpoints, audit_events
from tests.conftest import RunningHub
from tests.e2e.money import Pair, accepted_pair


def _traffic(hub: RunningHub) -> Pair:
    pair = accepted_pair(hub)
    pair.convert(1000)
    pair.target.get_partner("stride")  # a read: not audited
    return pair


def _verify(hub: RunningHub) -> audit.VerifyReport:
    with hub.database.engine.connect() as connection:
        return audit.verify(connection, hub.hub_public_key)


def _actions(hub: RunningHub) -> list[str]:
    with hub.database.engine.connect() as connection:
        return [
            row.action.rsplit("/", 1)[-1]
            for row in connection.execute(sqlalchemy.select(audit_events).order_by(audit_events.c.seq))
        ]


def test_every_state_change_is_recorded_sealed_and_verifies(hub: RunningHub) -> None:
    _traffic(hub)
    actions = _actions(hub)
    assert actions.count("RegisterPartner") == 2 and actions.count("ApprovePartner") == 2
    assert {"ProposeAgreement", "AcceptAgreement", "QuoteConversion", "Convert"} <= set(actions)
    assert not any(a.startswith(("Get", "List", "Pull")) for a in actions)
    assert hub.server.seal_audit_once(delay_ms=0) == len(actions)
    report = _verify(hub)
    assert (report.checked, report.unsealed, report.checkpoints, report.broken) == (len(actions), 0, 1, None)
    hub.clock.advance(16 * 60_000)
    assert hub.server.expire_overdue_once() == 1  # the hub's own changes are recorded too
    assert _actions(hub)[-1] == "ExpireConversion"
    hub.server.seal_audit_once(delay_ms=0)
    assert _verify(hub).broken is None and _verify(hub).checkpoints == 2


def _subjects(hub: RunningHub) -> list[tuple[str, str]]:
    with hub.database.engine.connect() as connection:
        rows = connection.execute(sqlalchemy.select(audit_events).order_by(audit_events.c.seq))
        return [(row.action.rsplit("/", 1)[-1], row.subject) for row in rows]


def test_every_event_names_the_id_of_what_it_acted_on(hub: RunningHub) -> None:
    pair = _traffic(hub)
    conversion = pair.convert(500, member="m-2", target_member="v-2")
    subjects = _subjects(hub)
    assert all(subject for _, subject in subjects), subjects
    assert [s for a, s in subjects if a in ("RegisterPartner", "ApprovePartner")] == [
        "stride",
        "stride",
        "voltline",
        "voltline",
    ]
    assert ("ProposeAgreement", pair.agreement.agreement_id) in subjects
    assert ("AcceptAgreement", pair.agreement.agreement_id) in subjects
    assert subjects[-1] == ("Convert", conversion.conversion_id)
    assert ("QuoteConversion", conversion.quote_id) in subjects
    assert not {"m-1", "m-2", "v-1", "v-2"} & {subject for _, subject in subjects}  # never a member reference
    hub.server.seal_audit_once(delay_ms=0)
    assert _verify(hub).broken is None


def _tamper(hub: RunningHub, statement: sqlalchemy.Executable) -> None:
    with hub.database.engine.begin() as connection:
        connection.execute(statement)


def test_an_altered_row_is_found_where_it_breaks(hub: RunningHub) -> None:
    _traffic(hub)
    hub.server.seal_audit_once(delay_ms=0)
    _tamper(hub, sqlalchemy.update(audit_events).where(audit_events.c.seq == 4).values(actor="voltline"))
    broken = _verify(hub).broken
    assert broken is not None and broken.kind is BreakKind.CHANGED and broken.seq == 4 and "differs" in broken.problem


def test_a_deleted_row_or_a_rewritten_chain_is_found(hub: RunningHub) -> None:
    _traffic(hub)
    hub.server.seal_audit_once(delay_ms=0)
    _tamper(hub, sqlalchemy.delete(audit_events).where(audit_events.c.seq == 3))
    broken = _verify(hub).broken
    assert broken is not None and broken.kind is BreakKind.MISSING and (broken.seq, broken.last_seq) == (3, 3)
    assert broken.problem.startswith("event 3 is missing")
    # Rewriting every hash after the change to hide it breaks the signed checkpoint instead.
    from exchange.domain.audit import GENESIS_SHA256, chain
    from exchange.store.audit_repo import AuditRepository

    with hub.database.engine.begin() as connection:
        head = GENESIS_SHA256
        for event in list(AuditRepository(connection).iter_events()):
            head = chain(head, event)
            connection.execute(
                sqlalchemy.update(audit_events).where(audit_events.c.seq == event.seq).values(entry_sha256=head)
            )
    broken = _verify(hub).broken
    assert broken is not None and broken.kind is BreakKind.CHAIN_REWRITTEN and "checkpoint" in broken.problem


def test_a_forged_checkpoint_is_found(hub: RunningHub) -> None:
    _traffic(hub)
    hub.server.seal_audit_once(delay_ms=0)
    _tamper(hub, sqlalchemy.update(audit_checkpoints).values(signature=b"\x00" * 64))
    broken = _verify(hub).broken
    assert broken is not None and "not signed by the hub" in broken.problem


def test_coalition_audit_verify_says_where_the_log_breaks(hub: RunningHub) -> None:
    _traffic(hub)
    hub.server.seal_audit_once(delay_ms=0)
    url = hub.database.engine.url.render_as_string(hide_password=False)
    args = ["audit", "verify", "--db", url, "--hub-public-key", hub.hub_public_key.hex()]
    runner = CliRunner()
    audit_cli.console.width = 200
    intact = runner.invoke(app, args, catch_exceptions=False)
    assert intact.exit_code == 0 and "intact" in intact.output
    _tamper(hub, sqlalchemy.update(audit_events).where(audit_events.c.seq == 2).values(subject="forged"))
    broken = runner.invoke(app, args, catch_exceptions=False)
    assert broken.exit_code == 1 and "event 2 differs" in broken.output
    _tamper(hub, sqlalchemy.delete(audit_events).where(audit_events.c.seq == 5))
    audit_cli.console.width = 40  # a narrow terminal still gets the break on one line
    missing = runner.invoke(app, args, catch_exceptions=False)
    assert missing.exit_code == 1 and "Traceback" not in missing.output
    (line,) = [line for line in missing.output.splitlines() if "broken" in line]
    assert line == "the audit log is broken: event 2 differs from what was sealed (its hash does not chain)"


def _seal_and_count(hub: RunningHub) -> int:
    _traffic(hub)
    hub.server.seal_audit_once(delay_ms=0)
    return len(_actions(hub))


def test_deleting_an_event_names_it_missing_wherever_it_was(hub: RunningHub) -> None:
    last = _seal_and_count(hub)
    _tamper(hub, sqlalchemy.delete(audit_events).where(audit_events.c.seq.in_((5, 6))))
    broken = _verify(hub).broken
    assert broken is not None and broken.problem.startswith("events 5 to 6 are missing")
    assert _verify(hub).checked == 4
    _tamper(hub, sqlalchemy.delete(audit_events).where(audit_events.c.seq == last))
    _tamper(hub, sqlalchemy.delete(audit_events).where(audit_events.c.seq < last))  # nothing left but checkpoints
    broken = _verify(hub).broken
    assert broken is not None and broken.kind is BreakKind.MISSING and broken.last_seq == last


def test_the_deleted_last_event_is_named(hub: RunningHub) -> None:
    last = _seal_and_count(hub)
    _tamper(hub, sqlalchemy.delete(audit_events).where(audit_events.c.seq == last))
    broken = _verify(hub).broken
    assert broken is not None and broken.problem.startswith(f"event {last} is missing")


def test_a_forged_row_is_named_inserted(hub: RunningHub) -> None:
    last = _seal_and_count(hub)
    with hub.database.engine.connect() as connection:
        head = connection.execute(
            sqlalchemy.select(audit_events.c.entry_sha256).where(audit_events.c.seq == last)
        ).scalar_one()
    forged = AuditEvent(
        last + 1, 1, "voltline", "/coalition.exchange.v1.OperatorService/ApprovePartner", "voltline", "", ""
    )
    _tamper(
        hub,
        sqlalchemy.insert(audit_events).values(
            seq=forged.seq,
            at_ms=forged.at_ms,
            actor=forged.actor,
            action=forged.action,
            subject=forged.subject,
            entry_sha256=chain(head, forged),
        ),
    )
    broken = _verify(hub).broken
    assert broken is not None and broken.kind is BreakKind.INSERTED and broken.seq == last + 1
    assert "no signed checkpoint" in broken.problem


def test_a_conversion_retried_with_its_idempotency_key_names_the_conversion_again(hub: RunningHub) -> None:
    pair = accepted_pair(hub)
    quote = pair.source.quote_conversion("voltline", 100)
    first = pair.source.convert(
        quote.quote_id, source_member_ref="m-1", target_member_ref="v-1", idempotency_key="key-1234"
    )
    again = pair.source.convert(
        quote.quote_id, source_member_ref="m-1", target_member_ref="v-1", idempotency_key="key-1234"
    )
    assert again.conversion_id == first.conversion_id
    with hub.database.engine.connect() as connection:
        subjects = [
            row.subject
            for row in connection.execute(
                sqlalchemy.select(audit_events)
                .where(audit_events.c.action.like("%/Convert"))
                .order_by(audit_events.c.seq)
            )
        ]
    assert subjects == [first.conversion_id, first.conversion_id]
