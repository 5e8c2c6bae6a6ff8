"""`coalition` with passphrase-protected hub and operator keys, run as an operator runs it.

Every command is the real console script in a subprocess. Its stdin is /dev/null (no terminal),
except where a test gives it a pseudo-terminal as its controlling terminal, as a person's shell
would, to type a passphrase at the prompt.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shlex
import signal
import socket
import stat
import subprocess
import sys
import termios
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

from partner_sdk import ExchangeClient, generate_private_key, load_private_key, public_key_bytes, save_private_key
from partner_sdk.keys import fingerprint

COALITION = str(Path(sys.executable).parent / "coalition")
OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
HUB_PASSPHRASE = "hub passphrase for the test"
OPERATOR_PASSPHRASE = "operator passphrase for the test"
PASSPHRASE_VARIABLES = ("COALITION_HUB_KEY_PASSPHRASE", "COALITION_OPERATOR_KEY_PASSPHRASE")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(**variables: str) -> dict[str, str]:
    """This process's environment without any passphrase variable, plus the variables given."""
    environ = {name: value for name, value in os.environ.items() if name not in PASSPHRASE_VARIABLES}
    return {**environ, **variables}


def _run(args: list[str], env: Mapping[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False
    )


def _assert_refused_in_one_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    for word in words:
        assert word in result.stderr


@contextmanager
def _serving(args: list[str], env: Mapping[str, str], cwd: Path, output: Path) -> Iterator[str]:
    """Run `coalition serve ...` until it answers SERVING; yield its address; stop it with SIGTERM."""
    target = f"127.0.0.1:{_free_port()}"
    with output.open("w") as out:
        process = subprocess.Popen(
            args,
            env={**env, "COALITION_LISTEN": target},
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while _run([COALITION, "health", "--target", target], env).stdout.strip() != "SERVING":
                assert process.poll() is None, output.read_text()
                assert time.monotonic() < deadline, "the hub never became healthy"
                time.sleep(0.2)
            yield target
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0, output.read_text()


def _on_a_terminal(args: list[str], answers: list[str], env: Mapping[str, str]) -> tuple[int, str]:
    """Run args with a pseudo-terminal as controlling terminal, typing one answer at each prompt."""
    main_fd, terminal_fd = os.openpty()

    def take_the_terminal() -> None:  # in the child, after setsid: make stdin its controlling terminal
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        args,
        env=env,
        stdin=terminal_fd,
        stdout=terminal_fd,
        stderr=terminal_fd,
        start_new_session=True,
        preexec_fn=take_the_terminal,  # only an ioctl; the test's process starts no threads
    )
    os.close(terminal_fd)
    seen, pending = b"", list(answers)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main_fd], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if pending and seen.endswith(b": "):  # a prompt waits: what follows an answer ends with a newline
                os.write(main_fd, pending.pop(0).encode() + b"\n")
        returncode = process.wait(timeout=30)
    finally:
        os.close(main_fd)
        if process.poll() is None:
            process.kill()
            process.wait()
    return returncode, seen.decode(errors="replace")


def _encrypted_key(path: Path, passphrase: str) -> bytes:
    key = generate_private_key()
    save_private_key(path, key, passphrase.encode())
    return public_key_bytes(key)


def test_serve_reads_an_encrypted_hub_key_with_the_passphrase_in_its_variable(tmp_path: Path) -> None:
    public = _encrypted_key(tmp_path / "hub.pem", HUB_PASSPHRASE)
    env = _environment(COALITION_HUB_KEY_PASSPHRASE=HUB_PASSPHRASE)
    serve = [COALITION, "serve", "--var-dir", str(tmp_path), "--hub-key", str(tmp_path / "hub.pem")]
    stride = generate_private_key()
    with (
        _serving(serve, env, tmp_path, tmp_path / "serve.log") as target,
        ExchangeClient(target, partner_id="stride", key_id="k1", private_key=stride, hub_public_key=public) as client,
    ):
        assert client.hub_info().hub_public_key == public
        # A signed answer that verifies against the pinned key: the hub signs with the encrypted key.
        client.register(
            display_name="Stride", point_currency="STRD", settlement_currency="EUR", point_value_minor=Fraction(1, 2)
        )
    assert fingerprint(public) in (tmp_path / "serve.log").read_text()


def test_serve_with_an_encrypted_hub_key_and_neither_variable_nor_terminal_exits_2_in_one_line(
    tmp_path: Path,
) -> None:
    _encrypted_key(tmp_path / "hub.pem", HUB_PASSPHRASE)
    result = _run(
        [
            COALITION,
            "serve",
            "--listen",
            f"127.0.0.1:{_free_port()}",
            "--var-dir",
            str(tmp_path),
            "--hub-key",
            str(tmp_path / "hub.pem"),
        ],
        _environment(),
    )
    _assert_refused_in_one_line(result, "is encrypted", "COALITION_HUB_KEY_PASSPHRASE")


def test_serve_with_a_wrong_hub_key_passphrase_exits_2_in_one_line(tmp_path: Path) -> None:
    _encrypted_key(tmp_path / "hub.pem", HUB_PASSPHRASE)
    result = _run(
        [
            COALITION,
            "serve",
            "--listen",
            f"127.0.0.1:{_free_port()}",
            "--var-dir",
            str(tmp_path),
            "--hub-key",
            str(tmp_path / "hub.pem"),
        ],
        _environment(COALITION_HUB_KEY_PASSPHRASE="not the passphrase"),
    )
    _assert_refused_in_one_line(result, "wrong passphrase")
    assert "not the passphrase" not in result.stdout + result.stderr


def test_serve_with_an_encrypted_operator_private_key_and_no_passphrase_exits_2_in_one_line(tmp_path: Path) -> None:
    _encrypted_key(tmp_path / "operator.pem", OPERATOR_PASSPHRASE)
    result = _run(
        [
            COALITION,
            "serve",
            "--listen",
            f"127.0.0.1:{_free_port()}",
            "--var-dir",
            str(tmp_path),
            "--operator-key",
            str(tmp_path / "operator.pem"),
        ],
        _environment(),
    )
    _assert_refused_in_one_line(result, "COALITION_OPERATOR_KEY_PASSPHRASE")


def test_a_first_run_with_both_variables_writes_encrypted_keys_that_serve_and_admin_read(tmp_path: Path) -> None:
    env = _environment(
        COALITION_HUB_KEY_PASSPHRASE=HUB_PASSPHRASE, COALITION_OPERATOR_KEY_PASSPHRASE=OPERATOR_PASSPHRASE
    )
    with _serving([COALITION, "serve", "--var-dir", str(tmp_path)], env, tmp_path, tmp_path / "serve.log") as target:
        for name, passphrase in (("hub_key.pem", HUB_PASSPHRASE), ("operator_key.pem", OPERATOR_PASSPHRASE)):
            path = tmp_path / name
            assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            load_private_key(path, passphrase.encode())
        with ExchangeClient(target, partner_id="stride", key_id="k1", private_key=generate_private_key()) as client:
            client.register(
                display_name="Stride",
                point_currency="STRD",
                settlement_currency="EUR",
                point_value_minor=Fraction(1, 2),
            )
        admin = [COALITION, "admin", "approve", "stride", "--target", target]
        admin += ["--operator-key", str(tmp_path / "operator_key.pem")]
        without = _run(admin, _environment())
        _assert_refused_in_one_line(without, "COALITION_OPERATOR_KEY_PASSPHRASE")
        wrong = _run(admin, _environment(COALITION_OPERATOR_KEY_PASSPHRASE=HUB_PASSPHRASE))
        _assert_refused_in_one_line(wrong, "wrong passphrase")
        approved = _run(admin, env)
        assert approved.returncode == 0, approved.stdout + approved.stderr
        assert "ACTIVE" in approved.stdout


def test_keys_protect_encrypts_a_key_in_place_owner_only_and_refuses_to_do_it_twice(tmp_path: Path) -> None:
    key = generate_private_key()
    save_private_key(tmp_path / "hub_key.pem", key)
    (tmp_path / "hub_key.pem").chmod(0o644)
    env = _environment(COALITION_HUB_KEY_PASSPHRASE=HUB_PASSPHRASE)
    protect = [COALITION, "keys", "protect", str(tmp_path / "hub_key.pem")]
    protect += ["--passphrase-env", "COALITION_HUB_KEY_PASSPHRASE"]
    protected = _run(protect, env)
    assert protected.returncode == 0, protected.stdout + protected.stderr
    assert fingerprint(public_key_bytes(key)) in protected.stdout
    assert b"ENCRYPTED PRIVATE KEY" in (tmp_path / "hub_key.pem").read_bytes()
    assert stat.S_IMODE((tmp_path / "hub_key.pem").stat().st_mode) == 0o600
    assert public_key_bytes(load_private_key(tmp_path / "hub_key.pem", HUB_PASSPHRASE.encode())) == public_key_bytes(
        key
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["hub_key.pem"]  # no temporary file left
    _assert_refused_in_one_line(_run(protect, env), "already encrypted")


def test_keys_protect_with_no_passphrase_at_hand_exits_2_in_one_line_and_leaves_the_file(tmp_path: Path) -> None:
    save_private_key(tmp_path / "k.pem", generate_private_key())
    before = (tmp_path / "k.pem").read_bytes()
    _assert_refused_in_one_line(_run([COALITION, "keys", "protect", str(tmp_path / "k.pem")], _environment()))
    unset = _run(
        [COALITION, "keys", "protect", str(tmp_path / "k.pem"), "--passphrase-env", "COALITION_HUB_KEY_PASSPHRASE"],
        _environment(),
    )
    _assert_refused_in_one_line(unset, "COALITION_HUB_KEY_PASSPHRASE")
    assert (tmp_path / "k.pem").read_bytes() == before


def test_keys_protect_on_a_terminal_asks_twice_and_keys_show_asks_once(tmp_path: Path) -> None:
    key = generate_private_key()
    save_private_key(tmp_path / "k.pem", key)
    code, seen = _on_a_terminal(
        [COALITION, "keys", "protect", str(tmp_path / "k.pem")], ["typed twice", "typed twice"], _environment()
    )
    assert code == 0, seen
    assert "typed twice" not in seen.replace("\n", ""), "the terminal echoed the passphrase"
    assert load_private_key(tmp_path / "k.pem", b"typed twice")
    code, seen = _on_a_terminal([COALITION, "keys", "show", str(tmp_path / "k.pem")], ["typed twice"], _environment())
    assert code == 0, seen
    # On a terminal rich colours parts of the line and wraps it at the terminal's width.
    assert fingerprint(public_key_bytes(key)) in re.sub(r"\x1b\[[0-9;]*m|\s", "", seen)


def test_keys_protect_on_a_terminal_refuses_two_different_passphrases(tmp_path: Path) -> None:
    save_private_key(tmp_path / "k.pem", generate_private_key())
    before = (tmp_path / "k.pem").read_bytes()
    code, seen = _on_a_terminal([COALITION, "keys", "protect", str(tmp_path / "k.pem")], ["one", "two"], _environment())
    assert code == 2, seen
    assert "differ" in seen
    assert (tmp_path / "k.pem").read_bytes() == before


def _encrypted_key_files_commands() -> list[list[str]]:
    """The command lines of docs/operations.md, "Encrypted key files", each split as the shell would."""
    text = OPERATIONS.read_text(encoding="utf-8")
    section = text[text.index("### Encrypted key files\n") :]
    section = section[: re.search(r"\n##+ ", section[1:]).start() + 1]  # type: ignore[union-attr]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1
    return [shlex.split(line, comments=True) for line in blocks[0].splitlines() if line.strip()]


def test_the_encrypted_key_files_commands_of_the_operations_guide_run(tmp_path: Path) -> None:
    commands = _encrypted_key_files_commands()
    assert [command[:2] for command in commands] == [
        ["coalition", "keys"],
        ["coalition", "keys"],
        ["coalition", "serve"],
    ]
    assert [commands[0][2], commands[1][2]] == ["protect", "show"]
    # What a hub started before passphrases existed left in its var directory: a plain hub key.
    key = generate_private_key()
    save_private_key(tmp_path / "var" / "hub_key.pem", key)
    public = fingerprint(public_key_bytes(key))
    env = _environment(COALITION_HUB_KEY_PASSPHRASE=HUB_PASSPHRASE)
    protect, show, serve = ([COALITION, *command[1:]] for command in commands)
    protected = _run(protect, env, cwd=tmp_path)
    assert protected.returncode == 0, protected.stdout + protected.stderr
    assert b"ENCRYPTED PRIVATE KEY" in (tmp_path / "var" / "hub_key.pem").read_bytes()
    shown = _run(show, env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert public in shown.stdout
    with _serving(serve, env, tmp_path, tmp_path / "serve.log"):
        pass
    assert public in (tmp_path / "serve.log").read_text()


def test_audit_seal_reads_an_encrypted_hub_key_and_refuses_without_its_passphrase_in_one_line(tmp_path: Path) -> None:
    _encrypted_key(tmp_path / "hub.pem", HUB_PASSPHRASE)
    db = f"sqlite:///{tmp_path / 'exchange.sqlite3'}"
    assert _run([COALITION, "db", "upgrade", "--db", db, "--var-dir", str(tmp_path)], _environment()).returncode == 0
    seal = [COALITION, "audit", "seal", "--db", db, "--hub-key", str(tmp_path / "hub.pem"), "--all"]
    sealed = _run(seal, _environment(COALITION_HUB_KEY_PASSPHRASE=HUB_PASSPHRASE))
    assert sealed.returncode == 0, sealed.stderr
    _assert_refused_in_one_line(_run(seal, _environment()), "is encrypted", "COALITION_HUB_KEY_PASSPHRASE")
