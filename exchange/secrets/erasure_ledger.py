"""The erasure ledger: the members the hub erased, kept beside the keyring, outside the database.

Erasure destroys a member's wrapped data key and scrubs their references from the database. A
backup of the database taken before the erasure still holds them, and the keyring (which the
hub keeps, and which holds every master key until one is retired) would unwrap that data key
again after a restore. So the hub also writes the erased member's internal id here, to a file a
database restore does not roll back, and re-applies every listed erasure the database does not
show, at start and after ``coalition db upgrade`` (exchange.service.erasure.reapply). Replicas
share the file as they share the keyring.

The line is written and fsynced before the erasure's transaction commits: an erasure that
passed every check is never acknowledged without its line. If the commit then fails, the member
is erased at the next start all the same, which is what they asked for.

One JSON object a line, append-only, mode 0600::

    {"member_id": "mbr-5f0c...", "at_ms": 1764755200000, "by": "stride"}

Only hub-internal member ids and brand ids: nothing a brand knows a member by. A torn last line
(a crash mid-write) is ignored when read.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

LEDGER_FILE_MODE = 0o600
MAX_LINE_BYTES = 1024
LEDGER_SUFFIX = ".erasures.jsonl"


@dataclass(frozen=True, slots=True)
class ErasureRecord:
    """One erasure as the ledger keeps it."""

    member_id: str
    at_ms: int
    by: str


class ErasureLedger:
    """An append-only file of erased members' ids."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def beside(cls, keyring_path: Path) -> ErasureLedger:
        """The ledger that belongs to a keyring file: ``keyring.json`` -> ``keyring.erasures.jsonl``."""
        return cls(keyring_path.with_name(keyring_path.stem + LEDGER_SUFFIX))

    def record(self, member_id: str, at_ms: int, by: str) -> None:
        """Append one erasure and make it durable before returning."""
        line = json.dumps({"member_id": member_id, "at_ms": at_ms, "by": by}, separators=(",", ":")) + "\n"
        data = line.encode("utf-8")
        if len(data) > MAX_LINE_BYTES:
            raise ValueError(f"an erasure ledger line is at most {MAX_LINE_BYTES} bytes")
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, LEDGER_FILE_MODE)
        try:
            os.write(descriptor, data)  # one write under O_APPEND: lines of several processes never interleave
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def records(self) -> list[ErasureRecord]:
        """Every complete, well-formed line, oldest first (a torn last line is skipped)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        found: list[ErasureRecord] = []
        for number, line in enumerate(raw.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                document = json.loads(line)
                record = ErasureRecord(str(document["member_id"]), int(document["at_ms"]), str(document["by"]))
            except (ValueError, KeyError, TypeError) as exc:
                if raw.endswith(line):  # the last, unterminated line: a write cut short
                    break
                raise ValueError(f"erasure ledger {self.path}, line {number}: {exc}") from exc
            found.append(record)
        return found

    def member_ids(self) -> list[str]:
        """The erased members' ids, each once, oldest erasure first."""
        return list(dict.fromkeys(record.member_id for record in self.records()))
