"""Bulk conversions: client threads each looping `ConvertBatch` of B unquoted items, as fast as answers come back.

A batch is one signed call from a source brand; each item names a new member on both sides and
has a key of its own, so no member's daily cap or velocity is reached. A source brand's
conversions queue on its row lock, so each client thread converts for one brand (thread i for
source i mod S); more threads than brands would only wait on each other. Each answer is checked:
one result per item, in the items' order (the source member ref says which), PENDING_CREDIT.
"""

from __future__ import annotations

import collections
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.brands import SOURCE_POINTS, TARGET_BRAND
from bench.clients import ClientJob, Clients, client_channel, raw_private_key
from bench.cpu import CpuSnapshot
from bench.fresh import fresh_hub
from bench.latency import percentile, round_or_none
from bench.postgres import Postgres
from bench.py_spy import start_py_spy, summarise_profile
from partner_sdk import ConversionItem, ConversionResult, ExchangeClient, ExchangeError
from partner_sdk.keys import Ed25519PrivateKey

BATCH_SIZE = 500  # items per call: ConvertBatch's most
CLIENTS = 2  # client threads, each for a source brand of its own (bench/README.md, "Bulk conversions", says why 2)
BATCH_TIMEOUT_S = 120.0  # one call's deadline: 500 conversions on a busy machine take seconds
WRONG_ORDER = "WRONG_ORDER: a result for another item"
MISSING = "MISSING: no result for the item"
NOT_PENDING = "NOT_PENDING_CREDIT"

# (began, ended, items converted, failed items by reason) of one call answered; perf_counter.
Batch = tuple[float, float, int, tuple[tuple[str, int], ...]]
CallFailure = tuple[float, str, int]  # (when, why, items) of a call refused or failed as a whole


def check_results(items: Sequence[ConversionItem], results: Sequence[ConversionResult]) -> tuple[int, dict[str, int]]:
    """Items converted, and failed items by reason (the hub's code:reason, or what is wrong with the answer)."""
    failed: collections.Counter[str] = collections.Counter()
    converted = 0
    for item, result in zip(items, results, strict=False):
        if result.conversion is None:
            failed[f"{result.error_code}:{result.error_reason}"] += 1
        elif result.conversion.source_member_ref != item.source_member_ref:
            failed[WRONG_ORDER] += 1
        elif result.conversion.state != "PENDING_CREDIT":
            failed[NOT_PENDING] += 1
        else:
            converted += 1
    if len(results) != len(items):
        failed[MISSING] += abs(len(items) - len(results))
    return converted, dict(failed)


class BulkThreads:
    """One process's bulk client threads, each on its own connection, in a closed loop from start() until finish()."""

    def __init__(self, job: ClientJob) -> None:
        if job.batch_size < 1:
            raise ValueError(f"a batch needs at least one item, not {job.batch_size}")
        self.job = job
        self.batches: list[Batch] = []
        self.failures: list[CallFailure] = []
        self._stop = threading.Event()
        self._channels = [client_channel(job.target) for _ in job.indices]
        self._gate = threading.Barrier(len(job.indices) + 1)
        self._threads = [
            threading.Thread(target=self._loop, args=(slot,), name=f"bulk-{index}", daemon=True)
            for slot, index in enumerate(job.indices)
        ]
        for thread in self._threads:
            thread.start()

    def start(self, epoch: float) -> None:
        """Wait until every thread has built its client, then let them all go."""
        self._gate.wait()

    def finish(self, deadline: float) -> tuple[list[Batch], list[CallFailure]]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for channel in self._channels:
            channel.close()
        return list(self.batches), list(self.failures)

    def items(self, slot: int, n: int) -> list[ConversionItem]:
        """Batch n of this thread: unquoted items, a new member on each side and a key each."""
        job = self.job
        prefix = f"{job.run_tag}-{job.indices[slot]}-{n}"
        return [
            ConversionItem(
                source_member_ref=f"bm-{prefix}-{k}",
                target_partner_id=TARGET_BRAND,
                source_points=SOURCE_POINTS,
                target_member_ref=f"bt-{prefix}-{k}",
                idempotency_key=f"bulk-{prefix}-{k}",
            )
            for k in range(job.batch_size)
        ]

    def _loop(self, slot: int) -> None:
        call = self._operation(slot)
        self._gate.wait()
        n = 0
        while not self._stop.is_set():
            n += 1
            items = self.items(slot, n)  # built before the clock starts: the brand's own work
            began = time.perf_counter()
            try:
                results = call(items)
            except ExchangeError as exc:
                self.failures.append((time.perf_counter(), f"{type(exc).__name__}:{exc.reason}", len(items)))
                continue
            except Exception as exc:  # a closed channel at the very end, say: count it, don't die
                self.failures.append((time.perf_counter(), type(exc).__name__, len(items)))
                continue
            ended = time.perf_counter()
            converted, failed = check_results(items, results)
            self.batches.append((began, ended, converted, tuple(sorted(failed.items()))))

    def _operation(self, slot: int) -> Callable[[list[ConversionItem]], Sequence[ConversionResult]]:
        job, index = self.job, self.job.indices[slot]
        partner_id, key = job.brands[index % len(job.brands)]
        client = ExchangeClient(
            job.target,
            partner_id=partner_id,
            key_id="k1",
            private_key=Ed25519PrivateKey.from_private_bytes(key),
            hub_public_key=job.hub_public_key,
            channel=self._channels[slot],
        )

        def convert_batch(items: list[ConversionItem]) -> Sequence[ConversionResult]:
            return client.convert_batch(items, timeout_s=BATCH_TIMEOUT_S)

        return convert_batch


@dataclass
class BulkResult:
    """The bulk step's figures (bench/README.md, "The figures": the bulk_* keys)."""

    clients: int
    client_processes: int
    source_brands: int
    batch_size: int
    window_s: float
    batches: int  # calls that overlap the window
    conversions: int  # items those calls converted, each call's in proportion to its time inside the window
    conversions_per_s: float  # conversions ÷ the window
    item_errors: int  # items that failed in those calls (whole), and the items of calls that failed in the window
    batch_p50_ms: float | None
    batch_p99_ms: float | None
    batch_max_ms: float | None
    hub_cpu_ms_per_conversion: float | None
    postgres_cpu_ms_per_conversion: float | None
    client_cpu_ms_per_conversion: float | None
    hub_cores: float
    postgres_cores: float | None
    client_cores: float
    other_cores: float
    machine_busy_pct: float
    db_retries: int | None
    profile: dict[str, Any] | None = None  # py-spy's summary of the hub in the window (--py-spy)
    converted_total: int = 0  # every item converted, warm-up and tail included
    rows_in_database: int | None = None  # conversions the database holds afterwards (= converted_total)
    errors: dict[str, int] = field(default_factory=dict)  # the failed items of the window, by reason


def measure_bulk(
    *,
    postgres: Postgres,
    workdir: Path,
    clients: int,
    client_processes: int,
    batch_size: int,
    sources: int,
    hub_workers: int,
    hub_processes: int | None,
    group_commit: bool,
    warmup_s: float,
    duration_s: float,
    py_spy: Path | None = None,
) -> BulkResult:
    """A fresh database and hub, `clients` threads looping ConvertBatch; the window after the warm-up.

    With `py_spy` (a directory) the hub is profiled through the window, as the main run's is.
    """
    with fresh_hub(
        backend="postgresql",
        postgres=postgres,
        workdir=workdir,
        label="bulk",
        sources=sources,
        workers=hub_workers,
        hub_processes=hub_processes,
        group_commit=group_commit,
    ) as fresh:
        hub, database = fresh.hub, fresh.database
        job = ClientJob(
            kind="bulk",
            target=hub.target,
            run_tag=uuid.uuid4().hex[:8],
            hub_public_key=hub.hub_public_key,
            brands=tuple((b.partner_id, raw_private_key(b.key)) for b in fresh.brands),
            batch_size=batch_size,
        )
        pool = Clients(job, clients=clients, processes=client_processes, runner=BulkThreads)
        spy: subprocess.Popen[bytes] | None = None
        spy_out: Path | None = None
        try:
            time.sleep(warmup_s)
            if py_spy is not None:
                spy, spy_out = start_py_spy(
                    hub.pid, py_spy, "bulk", clients, duration_s, subprocesses=hub.processes > 1
                )
            metrics_before = hub.metrics()
            before = CpuSnapshot.take(hub.pid, database, pool.cpu_s)
            time.sleep(max(0.0, before.at + duration_s - time.perf_counter()))
            after = CpuSnapshot.take(hub.pid, database, pool.cpu_s)
            metrics_after = hub.metrics()
        finally:
            batches, failures = pool.stop()
            if spy is not None:
                spy.wait(timeout=120)
    result = bulk_figures(
        clients=clients,
        client_processes=pool.processes,
        source_brands=len(fresh.brands),
        batch_size=batch_size,
        before=before,
        after=after,
        batches=batches,
        failures=failures,
        retries=metrics_after.get("coalition_db_retries_total"),
        retries_before=metrics_before.get("coalition_db_retries_total", 0.0),
    )
    result.rows_in_database = postgres.count_conversions(database)
    if spy_out is not None and spy_out.exists():
        result.profile = summarise_profile(spy_out)
    return result


def bulk_figures(
    *,
    clients: int,
    client_processes: int,
    source_brands: int,
    batch_size: int,
    before: CpuSnapshot,
    after: CpuSnapshot,
    batches: list[Batch],
    failures: list[CallFailure],
    retries: float | None,
    retries_before: float,
) -> BulkResult:
    """The window [before.at, after.at): the items of the calls that overlap it, each call's share by its overlap.

    A call's items are counted in proportion to the part of its duration inside the window (the
    hub converts them one after another), so a call of several seconds across the window's edge
    counts for what it did inside it; errors are counted whole for every call that overlaps it.
    """
    window = after.at - before.at
    overlapping = [b for b in batches if b[1] > before.at and b[0] < after.at]
    converted = round(
        sum(
            items * (min(ended, after.at) - max(began, before.at)) / (ended - began)
            for began, ended, items, _ in overlapping
        )
    )
    errors: collections.Counter[str] = collections.Counter()
    for *_, failed in overlapping:
        errors.update(dict(failed))
    for at, reason, items in failures:
        if before.at <= at < after.at:
            errors[reason] += items
    durations = sorted((ended - began) * 1000 for began, ended, *_ in overlapping)

    def per_conversion_ms(seconds: float | None) -> float | None:
        return None if seconds is None or converted == 0 else round(seconds * 1000 / converted, 4)

    hub_s = after.hub_s - before.hub_s
    client_s = after.client_s - before.client_s
    pg_s = (
        after.postgres_s - before.postgres_s if after.postgres_s is not None and before.postgres_s is not None else None
    )
    busy = (after.machine[0] - before.machine[0]) / max(1.0, after.machine[1] - before.machine[1])
    return BulkResult(
        clients=clients,
        client_processes=client_processes,
        source_brands=source_brands,
        batch_size=batch_size,
        window_s=round(window, 3),
        batches=len(overlapping),
        conversions=converted,
        conversions_per_s=round(converted / window, 1),
        item_errors=sum(errors.values()),
        batch_p50_ms=round_or_none(percentile(durations, 0.50)),
        batch_p99_ms=round_or_none(percentile(durations, 0.99)),
        batch_max_ms=round_or_none(durations[-1] if durations else None),
        hub_cpu_ms_per_conversion=per_conversion_ms(hub_s),
        postgres_cpu_ms_per_conversion=per_conversion_ms(pg_s),
        client_cpu_ms_per_conversion=per_conversion_ms(client_s),
        hub_cores=round(hub_s / window, 2),
        postgres_cores=None if pg_s is None else round(pg_s / window, 2),
        client_cores=round(client_s / window, 2),
        other_cores=round(max(0.0, busy * (os.cpu_count() or 1) - (hub_s + client_s + (pg_s or 0.0)) / window), 2),
        machine_busy_pct=round(100 * busy, 1),
        db_retries=None if retries is None else int(retries - retries_before),
        converted_total=sum(b[2] for b in batches),
        errors=dict(errors),
    )
