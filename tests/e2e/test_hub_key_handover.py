"""How an operator hands a brand the hub's key (docs/signing.md section 9, docs/integration.md section 3).

`coalition keys show PATH --json`, run as those two documents write it, prints one line of JSON,
{"public_key_hex", "fingerprint"}. It must match the key file, and a hub serving with that file
must report the same key, fingerprint and key id in GetHubInfo and sign with it, so that what
the operator hands over is what a client pins.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from coalition.exchange.v1 import hub_pb2
from exchange.api.response_signing import HubSigner
from exchange.store.database import Database
from partner_sdk import generate_private_key, signing
from partner_sdk.keys import load_private_key, public_key_bytes
from tests.conftest import OffsetClock, start_hub

COALITION = str(Path(sys.executable).parent / "coalition")
PASSPHRASE_VARIABLE = "COALITION_TEST_HUB_KEY_PASSPHRASE"
GET_HUB_INFO = "/coalition.exchange.v1.HubService/GetHubInfo"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def documented_commands() -> list[list[str]]:
    """The `coalition keys show ... --json` command lines of signing.md and integration.md, split as a shell would."""
    found = []
    for name in ("signing.md", "integration.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        lines = re.findall(r"^\s*(coalition keys show \S+ --json)\s*$|`(coalition keys show \S+ --json)`", text, re.M)
        assert lines, f"docs/{name} does not show `coalition keys show PATH --json`"
        found += [shlex.split(block or inline) for block, inline in lines]
    return found


def run(*args: str, passphrase: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != PASSPHRASE_VARIABLE}
    if passphrase is not None:
        env[PASSPHRASE_VARIABLE] = passphrase
    return subprocess.run([COALITION, *args], capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.mark.parametrize("passphrase", [None, "the hub key's passphrase"], ids=["plain", "encrypted"])
def test_keys_show_json_prints_the_key_a_client_pins(
    tmp_path: Path, database: Database, passphrase: str | None
) -> None:
    path = tmp_path / "hub_key.pem"
    encrypted = ("--passphrase-env", PASSPHRASE_VARIABLE) if passphrase is not None else ()
    made = run("keys", "new", str(path), *encrypted, passphrase=passphrase)
    assert made.returncode == 0, made.stderr

    outputs = set()
    for command in documented_commands():
        assert command[:3] == ["coalition", "keys", "show"]
        shown = run("keys", "show", str(path), *command[4:], *encrypted, passphrase=passphrase)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.endswith("\n") and shown.stdout.count("\n") == 1, "one line"
        outputs.add(shown.stdout)
    assert len(outputs) == 1
    handed_over = json.loads(outputs.pop())
    assert set(handed_over) == {"public_key_hex", "fingerprint"}

    key = load_private_key(path, passphrase.encode() if passphrase is not None else None)
    public = public_key_bytes(key)
    assert handed_over["public_key_hex"] == public.hex()
    assert re.fullmatch(r"[0-9a-f]{64}", handed_over["public_key_hex"])
    assert handed_over["fingerprint"] == "SHA256:" + hashlib.sha256(public).hexdigest()

    # A hub serving with that file says the same in GetHubInfo, and signs with it.
    signer = HubSigner.from_key(key)
    server = start_hub(database, OffsetClock(), operator_key=generate_private_key(), signer=signer)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            nonce = signing.new_nonce()
            answer, call = channel.unary_unary(GET_HUB_INFO, None, None).with_call(
                b"", metadata=((signing.HEADER_NONCE, nonce),), timeout=10
            )
    finally:
        server.stop(grace_s=1)
    info = hub_pb2.GetHubInfoResponse.FromString(answer)
    assert info.hub_public_key.hex() == handed_over["public_key_hex"]
    assert info.hub_key_fingerprint == handed_over["fingerprint"]
    assert info.hub_key_id == "hub-" + handed_over["fingerprint"].removeprefix("SHA256:")[:16]
    trailers = dict(call.trailing_metadata() or ())
    message = signing.canonical_response(
        method=GET_HUB_INFO,
        request_nonce=nonce,
        hub_key_id=str(trailers[signing.HEADER_HUB_KEY_ID]),
        timestamp_ms=int(str(trailers[signing.HEADER_HUB_TIMESTAMP])),
        status=signing.STATUS_OK,
        body=answer,
    )
    pinned = bytes.fromhex(handed_over["public_key_hex"])
    assert signing.verify(pinned, signing.decode_signature(str(trailers[signing.HEADER_HUB_SIGNATURE])), message)
