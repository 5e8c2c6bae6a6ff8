"""The data-protection building blocks: keyring file, envelope encryption, pairwise ids and link codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
from pathlib import Path

import pytest

from exchange.secrets import keyring as keyring_module
from exchange.secrets.envelope import (
    DATA_KEY_BYTES,
    NONCE_BYTES,
    SEALED_VALUE_OVERHEAD_BYTES,
    SEALED_VALUE_VERSION,
    WRAPPED_DATA_KEY_BYTES,
    WRAPPED_KEY_VERSION,
    DecryptError,
    UnwrapError,
    WrappedKey,
    decrypt_value,
    encrypt_value,
    new_data_key,
    rewrap,
    unwrap_data_key,
    wrap_data_key,
)
from exchange.secrets.keyring import KEYRING_FILE_MODE, MAX_MASTER_KEYS, Keyring, SecretsError, UnknownMasterKey
from exchange.secrets.pairwise import (
    LINK_CODE_PATTERN,
    PAIRWISE_ID_PATTERN,
    PAIRWISE_SALT,
    code_digest,
    link_code,
    normalize_link_code,
    pairwise_member_id,
)

SECRET = bytes(range(32))
MEMBER = "mbr_0001"
AAD = b"mbr_0001|email"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _document(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "version": 1,
        "current_master_key_id": "mk-1",
        "master_keys": {"mk-1": "11" * 32},
        "pairwise_secret": "22" * 32,
    }
    document.update(changes)
    return document


def _rotated() -> Keyring:
    return Keyring.generate().with_new_master_key()


def _without(keyring: Keyring, key_id: str) -> Keyring:
    kept = {other: keyring.master_key(other) for other in keyring.master_key_ids if other != key_id}
    return Keyring(
        current_master_key_id=keyring.current_master_key_id, master_keys=kept, pairwise_secret=keyring.pairwise_secret
    )


# Keyring: the file


def test_a_missing_keyring_file_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    created, was_created = Keyring.load_or_create(path)
    loaded, created_again = Keyring.load_or_create(path)
    assert (was_created, created_again) == (True, False)
    assert _mode(path) == KEYRING_FILE_MODE
    assert loaded.master_key("mk-1") == created.master_key("mk-1")
    assert loaded.pairwise_secret == created.pairwise_secret


def test_the_keyring_file_has_the_documented_json_layout(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    keyring, _ = Keyring.load_or_create(path)
    document = json.loads(path.read_text())
    assert document == {
        "version": 1,
        "current_master_key_id": "mk-1",
        "master_keys": {"mk-1": keyring.master_key("mk-1").hex()},
        "pairwise_secret": keyring.pairwise_secret.hex(),
    }
    assert len(document["master_keys"]["mk-1"]) == len(document["pairwise_secret"]) == 64


def test_load_or_create_makes_missing_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secrets" / "keyring.json"
    _, created = Keyring.load_or_create(path)
    assert created
    assert path.exists()


def test_a_keyring_written_by_another_process_first_wins_the_creation_race(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keyring.json"
    winner = Keyring.generate()
    real_load = Keyring.load
    calls: list[Path] = []

    def load_after_the_other_process_wrote(cls: type[Keyring], target: Path) -> Keyring:
        calls.append(target)
        if len(calls) == 1:  # this process looked first and found nothing; then the other one wrote
            winner.save(target)
            raise FileNotFoundError(target)
        return real_load(target)

    monkeypatch.setattr(Keyring, "load", classmethod(load_after_the_other_process_wrote))
    keyring, created = Keyring.load_or_create(path)
    assert not created
    assert keyring.master_key("mk-1") == winner.master_key("mk-1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keyring.json"]


def test_a_saved_keyring_loads_back_with_the_same_keys(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    keyring = _rotated()
    keyring.save(path)
    loaded = Keyring.load(path)
    assert loaded.current_master_key_id == "mk-2"
    assert loaded.master_key_ids == ("mk-1", "mk-2")
    assert all(loaded.master_key(key_id) == keyring.master_key(key_id) for key_id in keyring.master_key_ids)
    assert loaded.pairwise_secret == keyring.pairwise_secret


def test_save_tightens_a_looser_file_to_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    path.write_text("{}")
    path.chmod(0o644)
    Keyring.generate().save(path)
    assert _mode(path) == KEYRING_FILE_MODE


def test_a_failed_save_leaves_the_old_file_whole_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keyring.json"
    Keyring.generate().save(path)
    before = path.read_bytes()

    def crash(source: str, target: Path) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(keyring_module.os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        Keyring.generate().with_new_master_key().save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keyring.json"]


def test_save_replaces_the_file_by_renaming_a_complete_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keyring.json"
    renamed: list[tuple[str, bytes, int]] = []
    real_replace = os.replace

    def observe(source: str, target: Path) -> None:
        renamed.append((os.path.dirname(source), Path(source).read_bytes(), _mode(Path(source))))
        real_replace(source, target)

    monkeypatch.setattr(keyring_module.os, "replace", observe)
    keyring = Keyring.generate()
    keyring.save(path)
    assert renamed == [(str(tmp_path), path.read_bytes(), KEYRING_FILE_MODE)]
    assert Keyring.load(path).master_key("mk-1") == keyring.master_key("mk-1")


def test_loading_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Keyring.load(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "top level must be a JSON object"),
        (json.dumps(_document(version=2)), "unsupported version 2"),
        (json.dumps(_document(version=True)), "unsupported version True"),
        (json.dumps({k: v for k, v in _document().items() if k != "pairwise_secret"}), "missing fields"),
        (json.dumps(_document(pairwise_secrets="22" * 32)), "unknown fields"),
        (json.dumps(_document(master_keys={"mk-1": "11" * 31})), "master key 'mk-1' must be 64 hex digits"),
        (json.dumps(_document(master_keys={"mk-1": "zz" * 32})), "master key 'mk-1' must be 64 hex digits"),
        (json.dumps(_document(master_keys={"mk-1": 7})), "master key 'mk-1' must be 64 hex digits"),
        (json.dumps(_document(master_keys=["11" * 32])), "master_keys must be an object"),
        (json.dumps(_document(master_keys={})), "at least one master key"),
        (json.dumps(_document(master_keys={"primary": "11" * 32})), "'primary' is not of the form 'mk-<n>'"),
        (json.dumps(_document(master_keys={"mk-0": "11" * 32})), "'mk-0' is not of the form"),
        (json.dumps(_document(current_master_key_id="mk-2")), "current master key 'mk-2' is not among"),
        (json.dumps(_document(current_master_key_id=1)), "current_master_key_id must be a string"),
        (json.dumps(_document(pairwise_secret="22" * 33)), "pairwise_secret must be 64 hex digits"),
    ],
)
def test_an_invalid_keyring_file_is_refused_with_a_clear_message(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "keyring.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as refused:
        Keyring.load(path)
    assert str(path) in str(refused.value)
    with pytest.raises(ValueError, match=message):
        Keyring.load_or_create(path)
    assert path.read_text() == content


def test_a_valid_hand_written_keyring_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    path.write_text(json.dumps(_document(master_keys={"mk-1": "AB" * 32})))
    keyring = Keyring.load(path)
    assert keyring.master_key("mk-1") == b"\xab" * 32
    assert keyring.pairwise_secret == b"\x22" * 32


# Keyring: rotation and lookup


def test_rotation_adds_a_current_master_key_and_keeps_the_old_ones() -> None:
    first = Keyring.generate()
    rotated = first.with_new_master_key()
    assert rotated.current_master_key_id == "mk-2"
    assert rotated.master_key_ids == ("mk-1", "mk-2")
    assert rotated.master_key("mk-1") == first.master_key("mk-1")
    assert rotated.master_key("mk-2") != first.master_key("mk-1")
    assert rotated.pairwise_secret == first.pairwise_secret
    assert first.master_key_ids == ("mk-1",)


def test_rotation_numbers_the_new_key_after_the_highest_id() -> None:
    keyring = Keyring(
        current_master_key_id="mk-3",
        master_keys={"mk-9": b"\x01" * 32, "mk-3": b"\x02" * 32},
        pairwise_secret=SECRET,
    )
    rotated = keyring.with_new_master_key()
    assert rotated.current_master_key_id == "mk-10"
    assert rotated.master_key_ids == ("mk-3", "mk-9", "mk-10")


def test_rotation_stops_at_the_master_key_limit() -> None:
    keys = {f"mk-{n}": bytes([n % 256]) * 32 for n in range(1, MAX_MASTER_KEYS + 1)}
    full = Keyring(current_master_key_id="mk-1", master_keys=keys, pairwise_secret=SECRET)
    with pytest.raises(ValueError, match=f"at most {MAX_MASTER_KEYS} master keys"):
        full.with_new_master_key()


def test_an_unknown_master_key_id_raises_unknown_master_key() -> None:
    keyring = Keyring.generate()
    with pytest.raises(UnknownMasterKey, match=r"no master key 'mk-7' in the keyring \(it holds mk-1\)") as missing:
        keyring.master_key("mk-7")
    assert missing.value.key_id == "mk-7"
    assert missing.value.reason == "UNKNOWN_MASTER_KEY"
    assert isinstance(missing.value, SecretsError)
    assert isinstance(missing.value, LookupError)


def test_a_keyring_refuses_keys_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="master key 'mk-1' must be 32 bytes"):
        Keyring(current_master_key_id="mk-1", master_keys={"mk-1": b"short"}, pairwise_secret=SECRET)
    with pytest.raises(ValueError, match="pairwise secret must be 32 bytes"):
        Keyring(current_master_key_id="mk-1", master_keys={"mk-1": SECRET}, pairwise_secret=b"short")


def test_repr_and_str_show_key_ids_but_no_key_material() -> None:
    keyring = _rotated()
    material = [keyring.master_key(key_id) for key_id in keyring.master_key_ids] + [keyring.pairwise_secret]
    for shown in (repr(keyring), str(keyring), f"{keyring}", repr([keyring])):
        assert "mk-1" in shown
        assert "mk-2" in shown
        for secret in material:
            assert secret.hex() not in shown
            assert secret.hex().upper() not in shown
            assert repr(secret) not in shown
            assert base64.b64encode(secret).decode() not in shown


# Envelope: data keys


def test_data_keys_are_fresh_random_32_byte_keys() -> None:
    keys = {new_data_key() for _ in range(16)}
    assert len(keys) == 16
    assert all(len(key) == DATA_KEY_BYTES for key in keys)


def test_a_wrapped_data_key_unwraps_for_its_member() -> None:
    keyring = Keyring.generate()
    data_key = new_data_key()
    wrapped = wrap_data_key(keyring, data_key, member_id=MEMBER)
    assert wrapped.master_key_id == "mk-1"
    assert data_key not in wrapped.ciphertext
    assert unwrap_data_key(keyring, wrapped, member_id=MEMBER) == data_key


def test_a_wrapped_data_key_has_the_documented_binary_layout() -> None:
    wrapped = wrap_data_key(Keyring.generate(), new_data_key(), member_id=MEMBER)
    data = wrapped.to_bytes()
    assert len(data) == 66
    assert data[0] == WRAPPED_KEY_VERSION
    assert data[1] == 4
    assert data[2:6] == b"mk-1"
    assert data[6 : 6 + NONCE_BYTES] == wrapped.nonce
    assert data[6 + NONCE_BYTES :] == wrapped.ciphertext
    assert len(wrapped.ciphertext) == WRAPPED_DATA_KEY_BYTES
    assert WrappedKey.from_bytes(data) == wrapped


def test_two_wraps_of_one_data_key_differ() -> None:
    keyring = Keyring.generate()
    data_key = new_data_key()
    first, second = (wrap_data_key(keyring, data_key, member_id=MEMBER) for _ in range(2))
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext


def test_a_data_key_wrapped_for_one_member_does_not_unwrap_for_another() -> None:
    keyring = Keyring.generate()
    wrapped = wrap_data_key(keyring, new_data_key(), member_id=MEMBER)
    with pytest.raises(UnwrapError, match="does not authenticate") as refused:
        unwrap_data_key(keyring, wrapped, member_id="mbr_0002")
    assert refused.value.reason == "DATA_KEY_UNWRAP_FAILED"


def test_a_data_key_relabelled_with_another_master_key_id_does_not_unwrap() -> None:
    keyring = _rotated()
    wrapped = wrap_data_key(keyring, new_data_key(), member_id=MEMBER)
    relabelled = WrappedKey("mk-1", wrapped.nonce, wrapped.ciphertext)
    with pytest.raises(UnwrapError, match="wrapped under 'mk-1' does not authenticate"):
        unwrap_data_key(keyring, relabelled, member_id=MEMBER)


def test_a_data_key_under_an_unknown_master_key_raises_unwrap_error() -> None:
    keyring = Keyring.generate()
    wrapped = wrap_data_key(keyring, new_data_key(), member_id=MEMBER)
    unknown = WrappedKey("mk-7", wrapped.nonce, wrapped.ciphertext)
    with pytest.raises(UnwrapError, match="no master key 'mk-7'") as refused:
        unwrap_data_key(keyring, unknown, member_id=MEMBER)
    assert isinstance(refused.value.__cause__, UnknownMasterKey)


def test_flipping_any_bit_of_a_wrapped_data_key_is_detected() -> None:
    keyring = _rotated()
    data = wrap_data_key(keyring, new_data_key(), member_id=MEMBER).to_bytes()
    for index in range(len(data)):
        for bit in range(8):
            tampered = bytearray(data)
            tampered[index] ^= 1 << bit
            with pytest.raises(UnwrapError):
                unwrap_data_key(keyring, WrappedKey.from_bytes(bytes(tampered)), member_id=MEMBER)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a version-1 wrapped data key"),
        (b"\x01", "not a version-1 wrapped data key"),
        (b"\x02\x04mk-1" + bytes(60), "not a version-1 wrapped data key"),
        (b"\x01\x04mk-1" + bytes(59), "is 66 bytes, got 65"),
        (b"\x01\x04mk-1" + bytes(61), "is 66 bytes, got 67"),
        (b"\x01\x00" + bytes(60), "master key id is 1 to 255 ASCII characters"),
        (b"\x01\x04mk-\xff" + bytes(60), "not ASCII"),
    ],
)
def test_malformed_wrapped_data_key_bytes_raise_unwrap_error(data: bytes, message: str) -> None:
    with pytest.raises(UnwrapError, match=message):
        WrappedKey.from_bytes(data)


def test_a_wrapped_key_of_the_wrong_shape_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="nonce is 12 bytes"):
        WrappedKey("mk-1", bytes(11), bytes(WRAPPED_DATA_KEY_BYTES))
    with pytest.raises(ValueError, match="ciphertext is 48 bytes"):
        WrappedKey("mk-1", bytes(NONCE_BYTES), bytes(32))
    with pytest.raises(ValueError, match="master key id"):
        WrappedKey("", bytes(NONCE_BYTES), bytes(WRAPPED_DATA_KEY_BYTES))
    with pytest.raises(ValueError, match="master key id"):
        WrappedKey("mk-é", bytes(NONCE_BYTES), bytes(WRAPPED_DATA_KEY_BYTES))


def test_wrapping_refuses_a_data_key_of_the_wrong_size_or_an_empty_member() -> None:
    keyring = Keyring.generate()
    with pytest.raises(ValueError, match="a data key is 32 bytes, got 16"):
        wrap_data_key(keyring, bytes(16), member_id=MEMBER)
    with pytest.raises(ValueError, match="member_id must not be empty"):
        wrap_data_key(keyring, new_data_key(), member_id="")


# Envelope: rotation


def test_rewrap_after_rotation_moves_the_data_key_to_the_current_master_key() -> None:
    old = Keyring.generate()
    data_key = new_data_key()
    wrapped = wrap_data_key(old, data_key, member_id=MEMBER)
    rotated = old.with_new_master_key()
    moved = rewrap(rotated, wrapped, member_id=MEMBER)
    assert moved.master_key_id == "mk-2"
    assert unwrap_data_key(rotated, moved, member_id=MEMBER) == data_key
    assert unwrap_data_key(rotated, wrapped, member_id=MEMBER) == data_key


def test_once_the_old_master_key_is_retired_only_the_rewrapped_data_key_unwraps() -> None:
    old = Keyring.generate()
    data_key = new_data_key()
    wrapped = wrap_data_key(old, data_key, member_id=MEMBER)
    rotated = old.with_new_master_key()
    moved = rewrap(rotated, wrapped, member_id=MEMBER)
    retired = _without(rotated, "mk-1")
    assert unwrap_data_key(retired, moved, member_id=MEMBER) == data_key
    with pytest.raises(UnwrapError, match="no master key 'mk-1'"):
        unwrap_data_key(retired, wrapped, member_id=MEMBER)


def test_rewrap_of_a_data_key_already_under_the_current_master_key_returns_it_unchanged() -> None:
    keyring = Keyring.generate()
    wrapped = wrap_data_key(keyring, new_data_key(), member_id=MEMBER)
    assert rewrap(keyring, wrapped, member_id=MEMBER) is wrapped


def test_rewrap_refuses_a_data_key_that_does_not_unwrap() -> None:
    keyring = _rotated()
    wrapped = wrap_data_key(Keyring.generate(), new_data_key(), member_id=MEMBER)
    with pytest.raises(UnwrapError):
        rewrap(keyring, wrapped, member_id=MEMBER)
    with pytest.raises(UnwrapError):
        rewrap(keyring, wrap_data_key(keyring, new_data_key(), member_id=MEMBER), member_id="mbr_0002")


# Envelope: values


def test_a_sealed_value_opens_with_the_same_data_key_and_aad() -> None:
    data_key = new_data_key()
    sealed = encrypt_value(data_key, b"ada@example.com", aad=AAD)
    assert decrypt_value(data_key, sealed, aad=AAD) == b"ada@example.com"


def test_a_sealed_value_has_the_documented_binary_layout() -> None:
    sealed = encrypt_value(new_data_key(), b"hello", aad=AAD)
    assert sealed[0] == SEALED_VALUE_VERSION
    assert len(sealed) == SEALED_VALUE_OVERHEAD_BYTES + 5 == 1 + NONCE_BYTES + 5 + 16


def test_an_empty_value_seals_and_opens() -> None:
    data_key = new_data_key()
    assert decrypt_value(data_key, encrypt_value(data_key, b"", aad=b""), aad=b"") == b""


def test_two_seals_of_one_value_differ() -> None:
    data_key = new_data_key()
    assert encrypt_value(data_key, b"same", aad=AAD) != encrypt_value(data_key, b"same", aad=AAD)


def test_a_sealed_value_does_not_open_with_another_aad() -> None:
    data_key = new_data_key()
    sealed = encrypt_value(data_key, b"ada@example.com", aad=AAD)
    with pytest.raises(DecryptError, match="does not authenticate") as refused:
        decrypt_value(data_key, sealed, aad=b"mbr_0001|phone")
    assert refused.value.reason == "VALUE_DECRYPT_FAILED"


def test_a_sealed_value_does_not_open_with_another_data_key() -> None:
    sealed = encrypt_value(new_data_key(), b"ada@example.com", aad=AAD)
    with pytest.raises(DecryptError):
        decrypt_value(new_data_key(), sealed, aad=AAD)


def test_flipping_any_bit_of_a_sealed_value_is_detected() -> None:
    data_key = new_data_key()
    sealed = encrypt_value(data_key, b"ada@example.com", aad=AAD)
    for index in range(len(sealed)):
        for bit in range(8):
            tampered = bytearray(sealed)
            tampered[index] ^= 1 << bit
            with pytest.raises(DecryptError):
                decrypt_value(data_key, bytes(tampered), aad=AAD)


@pytest.mark.parametrize(
    "sealed",
    [b"", b"\x01", b"\x01" + bytes(27), b"\x02" + bytes(40), b"\x01" + bytes(64 * 1024 + 29)],
)
def test_malformed_sealed_values_raise_decrypt_error(sealed: bytes) -> None:
    with pytest.raises(DecryptError):
        decrypt_value(new_data_key(), sealed, aad=AAD)


def test_sealing_refuses_a_value_over_the_limit_or_a_data_key_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="at most 65536 bytes"):
        encrypt_value(new_data_key(), bytes(64 * 1024 + 1), aad=AAD)
    with pytest.raises(ValueError, match="a data key is 32 bytes"):
        encrypt_value(bytes(31), b"x", aad=AAD)
    with pytest.raises(ValueError, match="a data key is 32 bytes"):
        decrypt_value(bytes(33), encrypt_value(new_data_key(), b"x", aad=AAD), aad=AAD)


def test_a_value_at_the_limit_seals_and_opens() -> None:
    data_key = new_data_key()
    value = os.urandom(64 * 1024)
    assert decrypt_value(data_key, encrypt_value(data_key, value, aad=AAD), aad=AAD) == value


# Pairwise ids


def _rfc5869_hkdf_sha256(ikm: bytes, *, salt: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm, counter = okm + block, counter + 1
    return okm[:length]


def test_a_pairwise_id_matches_its_pinned_value() -> None:
    assert pairwise_member_id(SECRET, partner_id="stride", member_id=MEMBER) == "pm-2gudvra74cubnvfsaazrl6tcbnfsxlpr"


def test_a_pairwise_id_is_hkdf_sha256_of_partner_and_member_in_lowercase_base32() -> None:
    derived = _rfc5869_hkdf_sha256(SECRET, salt=PAIRWISE_SALT, info=b"stride\x00" + MEMBER.encode(), length=20)
    expected = "pm-" + base64.b32encode(derived).decode().rstrip("=").lower()
    assert pairwise_member_id(SECRET, partner_id="stride", member_id=MEMBER) == expected


def test_a_pairwise_id_is_pm_and_32_lowercase_base32_characters() -> None:
    pairwise = pairwise_member_id(SECRET, partner_id="stride", member_id=MEMBER)
    assert PAIRWISE_ID_PATTERN.fullmatch(pairwise)
    assert len(pairwise) == 3 + 32


def test_two_brands_know_one_member_by_different_ids() -> None:
    at_stride = pairwise_member_id(SECRET, partner_id="stride", member_id=MEMBER)
    at_brew = pairwise_member_id(SECRET, partner_id="brew", member_id=MEMBER)
    assert at_stride != at_brew


def test_pairwise_ids_depend_on_the_secret() -> None:
    other = bytes(reversed(SECRET))
    assert pairwise_member_id(SECRET, partner_id="stride", member_id=MEMBER) != pairwise_member_id(
        other, partner_id="stride", member_id=MEMBER
    )


@pytest.mark.parametrize(
    ("partner_id", "member_id", "message"),
    [
        ("", MEMBER, "partner_id must be non-empty"),
        ("stride", "", "member_id must be non-empty"),
        ("stri\x00de", MEMBER, "partner_id .* must not contain NUL"),
        ("stride", "mbr\x00", "member_id .* must not contain NUL"),
    ],
)
def test_pairwise_ids_refuse_empty_ids_and_nul(partner_id: str, member_id: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pairwise_member_id(SECRET, partner_id=partner_id, member_id=member_id)


def test_pairwise_ids_and_digests_refuse_a_short_secret() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        pairwise_member_id(bytes(31), partner_id="stride", member_id=MEMBER)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        code_digest(bytes(31), "ABCDE-FGHJK")


# Link codes


def test_a_link_code_is_two_groups_of_five_unambiguous_characters() -> None:
    codes = {link_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert LINK_CODE_PATTERN.fullmatch(code), code
        assert not set(code) & set("0O1IL")


@pytest.mark.parametrize(
    "typed",
    ["ABCDE-FGHJK", "abcde-fghjk", "ABCDEFGHJK", " abcde fghjk ", "AbCdE - fGhJk", "ab-cde-fg-hjk", "abcde\tfghjk"],
)
def test_case_spaces_and_dashes_do_not_matter_in_a_typed_link_code(typed: str) -> None:
    assert normalize_link_code(typed) == "ABCDE-FGHJK"


def test_a_fresh_link_code_is_already_normalized() -> None:
    code = link_code()
    assert normalize_link_code(code) == code
    assert normalize_link_code(code.lower().replace("-", " ")) == code


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "-",
        "ABCDE-FGHJ",
        "ABCDE-FGHJKM",
        "ABCDE-FGHJ0",
        "ABCDE-FGHJO",
        "ABCDE-FGHJ1",
        "ABCDE-FGHJI",
        "ABCDE-FGHJL",
        "abcde-fghjl",
        "ABCDE_FGHJK",
        "ABCDE.FGHJK",
        "ABCDÉ-FGHJK",
        "\uff21BCDE-FGHJK",  # a fullwidth A
        "ABCDE-FGHJK" + " " * 60,
    ],
)
def test_a_malformed_link_code_normalizes_to_none(typed: str) -> None:
    assert normalize_link_code(typed) is None


def test_a_link_code_digest_is_the_hex_hmac_sha256_of_the_normalized_code() -> None:
    expected = hmac.new(SECRET, b"ABCDE-FGHJK", hashlib.sha256).hexdigest()
    assert code_digest(SECRET, "ABCDE-FGHJK") == expected
    assert code_digest(SECRET, " abcde fghjk") == expected
    assert expected == "fc4d69c0e36cb3461e27c19783bb48014be7dd549b00047355c05b38697a89f4"


def test_link_code_digests_differ_per_secret() -> None:
    assert code_digest(SECRET, "ABCDE-FGHJK") != code_digest(bytes(reversed(SECRET)), "ABCDE-FGHJK")


def test_a_digest_of_a_malformed_link_code_is_refused() -> None:
    with pytest.raises(ValueError, match="not a link code"):
        code_digest(SECRET, "ABCDE-FGHJ0")
