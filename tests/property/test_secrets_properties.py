"""Envelope encryption round-trips and detects any change; pairwise ids and link codes keep their shape."""

from __future__ import annotations

from random import Random

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from exchange.secrets.envelope import (
    DATA_KEY_BYTES,
    DecryptError,
    UnwrapError,
    WrappedKey,
    decrypt_value,
    encrypt_value,
    rewrap,
    unwrap_data_key,
    wrap_data_key,
)
from exchange.secrets.keyring import Keyring
from exchange.secrets.pairwise import (
    LINK_CODE_ALPHABET,
    LINK_CODE_PATTERN,
    PAIRWISE_ID_PATTERN,
    code_digest,
    normalize_link_code,
    pairwise_member_id,
)

OLD_KEYRING = Keyring.generate()
KEYRING = OLD_KEYRING.with_new_master_key()

data_keys = st.binary(min_size=DATA_KEY_BYTES, max_size=DATA_KEY_BYTES)
member_ids = st.text(min_size=1, max_size=64)
ids = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=64)
aads = st.binary(max_size=128)
plaintexts = st.binary(max_size=1024)
secrets_ = st.binary(min_size=32, max_size=64)
flips = st.integers(min_value=1, max_value=255)
code_characters = st.text(st.sampled_from(LINK_CODE_ALPHABET), min_size=10, max_size=10)


# Envelope: data keys


@given(data_keys, member_ids)
def test_a_wrapped_data_key_unwraps_for_its_member_after_a_round_trip_through_bytes(
    data_key: bytes, member_id: str
) -> None:
    wrapped = WrappedKey.from_bytes(wrap_data_key(KEYRING, data_key, member_id=member_id).to_bytes())
    assert unwrap_data_key(KEYRING, wrapped, member_id=member_id) == data_key


@given(data_keys, member_ids, st.data(), flips)
def test_changing_any_byte_of_a_wrapped_data_key_is_detected(
    data_key: bytes, member_id: str, data: st.DataObject, flip: int
) -> None:
    blob = bytearray(wrap_data_key(KEYRING, data_key, member_id=member_id).to_bytes())
    blob[data.draw(st.integers(0, len(blob) - 1), label="index")] ^= flip
    with pytest.raises(UnwrapError):
        unwrap_data_key(KEYRING, WrappedKey.from_bytes(bytes(blob)), member_id=member_id)


@given(data_keys, member_ids, member_ids)
def test_a_wrapped_data_key_does_not_unwrap_for_another_member(data_key: bytes, owner: str, other: str) -> None:
    assume(owner != other)
    wrapped = wrap_data_key(KEYRING, data_key, member_id=owner)
    with pytest.raises(UnwrapError):
        unwrap_data_key(KEYRING, wrapped, member_id=other)


@given(data_keys, member_ids)
def test_a_wrapped_data_key_relabelled_with_another_master_key_id_does_not_unwrap(
    data_key: bytes, member_id: str
) -> None:
    wrapped = wrap_data_key(KEYRING, data_key, member_id=member_id)
    for other_id in ("mk-1", "mk-3"):
        with pytest.raises(UnwrapError):
            unwrap_data_key(KEYRING, WrappedKey(other_id, wrapped.nonce, wrapped.ciphertext), member_id=member_id)


@given(data_keys, member_ids)
def test_rewrap_after_rotation_unwraps_under_the_new_key_while_the_old_blob_still_unwraps(
    data_key: bytes, member_id: str
) -> None:
    old = wrap_data_key(OLD_KEYRING, data_key, member_id=member_id)
    moved = rewrap(KEYRING, old, member_id=member_id)
    assert (old.master_key_id, moved.master_key_id) == ("mk-1", KEYRING.current_master_key_id)
    assert unwrap_data_key(KEYRING, moved, member_id=member_id) == data_key
    assert unwrap_data_key(KEYRING, old, member_id=member_id) == data_key


# Envelope: values


@given(data_keys, plaintexts, aads)
def test_a_sealed_value_opens_with_the_same_key_and_aad(data_key: bytes, plaintext: bytes, aad: bytes) -> None:
    assert decrypt_value(data_key, encrypt_value(data_key, plaintext, aad=aad), aad=aad) == plaintext


@given(data_keys, plaintexts, aads, aads)
def test_a_sealed_value_does_not_open_with_another_aad(
    data_key: bytes, plaintext: bytes, aad: bytes, other: bytes
) -> None:
    assume(aad != other)
    sealed = encrypt_value(data_key, plaintext, aad=aad)
    with pytest.raises(DecryptError):
        decrypt_value(data_key, sealed, aad=other)


@given(data_keys, plaintexts, aads, st.data(), flips)
def test_changing_any_byte_of_a_sealed_value_is_detected(
    data_key: bytes, plaintext: bytes, aad: bytes, data: st.DataObject, flip: int
) -> None:
    sealed = bytearray(encrypt_value(data_key, plaintext, aad=aad))
    sealed[data.draw(st.integers(0, len(sealed) - 1), label="index")] ^= flip
    with pytest.raises(DecryptError):
        decrypt_value(data_key, bytes(sealed), aad=aad)


@given(data_keys, plaintexts, aads, st.integers(min_value=1, max_value=16))
def test_a_truncated_or_extended_sealed_value_is_detected(
    data_key: bytes, plaintext: bytes, aad: bytes, cut: int
) -> None:
    sealed = encrypt_value(data_key, plaintext, aad=aad)
    for changed in (sealed[:-cut], sealed + bytes(cut)):
        with pytest.raises(DecryptError):
            decrypt_value(data_key, changed, aad=aad)


@given(data_keys, st.binary(min_size=8, max_size=1024), aads)
def test_a_sealed_value_never_contains_its_plaintext(data_key: bytes, plaintext: bytes, aad: bytes) -> None:
    assert plaintext not in encrypt_value(data_key, plaintext, aad=aad)


# Pairwise ids


@given(secrets_, ids, ids)
def test_a_pairwise_id_is_stable_and_well_formed(secret: bytes, partner_id: str, member_id: str) -> None:
    first = pairwise_member_id(secret, partner_id=partner_id, member_id=member_id)
    assert PAIRWISE_ID_PATTERN.fullmatch(first)
    assert pairwise_member_id(secret, partner_id=partner_id, member_id=member_id) == first


@given(secrets_, ids, ids, ids)
def test_one_member_has_different_pairwise_ids_at_different_partners(
    secret: bytes, partner_a: str, partner_b: str, member_id: str
) -> None:
    assume(partner_a != partner_b)
    at_a = pairwise_member_id(secret, partner_id=partner_a, member_id=member_id)
    assert at_a != pairwise_member_id(secret, partner_id=partner_b, member_id=member_id)


@given(secrets_, ids, ids, ids)
def test_different_members_have_different_pairwise_ids_at_one_partner(
    secret: bytes, partner_id: str, member_a: str, member_b: str
) -> None:
    assume(member_a != member_b)
    of_a = pairwise_member_id(secret, partner_id=partner_id, member_id=member_a)
    assert of_a != pairwise_member_id(secret, partner_id=partner_id, member_id=member_b)


# Link codes


@given(code_characters, st.lists(st.sampled_from([" ", "-", "\t"]), max_size=6), st.randoms())
def test_a_typed_link_code_normalizes_whatever_its_case_spacing_and_dashes(
    characters: str, separators: list[str], random: Random
) -> None:
    typed = list(characters.lower() if random.random() < 0.5 else characters)
    for separator in separators:
        typed.insert(random.randint(0, len(typed)), separator)
    canonical = characters[:5] + "-" + characters[5:]
    assert normalize_link_code("".join(typed)) == canonical
    assert normalize_link_code(canonical) == canonical


@given(st.text(max_size=80))
def test_normalizing_any_text_gives_a_canonical_code_or_none(text: str) -> None:
    normalized = normalize_link_code(text)
    assert normalized is None or LINK_CODE_PATTERN.fullmatch(normalized)


@given(code_characters, st.sampled_from("0O1IL"), st.integers(0, 9))
def test_a_code_with_a_look_alike_character_is_malformed(characters: str, look_alike: str, index: int) -> None:
    typed = characters[:index] + look_alike + characters[index + 1 :]
    assert normalize_link_code(typed) is None
    assert normalize_link_code(typed.lower()) is None


@given(code_characters, secrets_, secrets_)
def test_link_code_digests_differ_per_secret_and_ignore_how_the_code_was_typed(
    characters: str, secret_a: bytes, secret_b: bytes
) -> None:
    assume(secret_a != secret_b)
    digest = code_digest(secret_a, characters)
    assert len(digest) == 64
    assert digest == code_digest(secret_a, characters[:5].lower() + " - " + characters[5:])
    assert digest != code_digest(secret_b, characters)


@given(code_characters, code_characters, secrets_)
def test_different_link_codes_have_different_digests(code_a: str, code_b: str, secret: bytes) -> None:
    assume(code_a != code_b)
    assert code_digest(secret, code_a) != code_digest(secret, code_b)
