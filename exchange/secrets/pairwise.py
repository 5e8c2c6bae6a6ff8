"""Pairwise member ids, one-time link codes, and the digests link codes are stored as.

A brand never learns the hub's member id. It knows a member by a pairwise id: HKDF-SHA256 of
the member id under the keyring's pairwise secret, with the brand's id in the ``info``, so
two brands get unrelated ids for the same member and cannot join their data on it, and
nobody without the secret can go back from an id to the member.

A link code is what a member reads at one brand and types at another: 10 characters from an
alphabet without look-alikes (no 0/O, 1/I/L), shown as "XXXXX-XXXXX", about 49.5 bits from
``secrets``. The hub stores only ``code_digest`` (HMAC-SHA256 under a secret), so a copy of
the database does not reveal live codes; codes are short-lived and redemption attempts are
limited elsewhere, which is what makes 49.5 bits enough.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PAIRWISE_SALT = b"coalition-pairwise-v1"
PAIRWISE_ID_PREFIX = "pm-"
PAIRWISE_ID_BYTES = 20
PAIRWISE_ID_PATTERN = re.compile(r"pm-[a-z2-7]{32}")
MIN_SECRET_BYTES = 32

LINK_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LINK_CODE_LENGTH = 10
LINK_CODE_GROUP = 5
LINK_CODE_SEPARATOR = "-"
_CODE_GROUP_PATTERN = rf"[{LINK_CODE_ALPHABET}]{{{LINK_CODE_GROUP}}}"
LINK_CODE_PATTERN = re.compile(_CODE_GROUP_PATTERN + LINK_CODE_SEPARATOR + _CODE_GROUP_PATTERN)
MAX_LINK_CODE_INPUT_CHARS = 64

_IGNORED_IN_CODES = re.compile(r"[\s-]+")
_CODE_CHARACTERS = frozenset(LINK_CODE_ALPHABET)


def pairwise_member_id(secret: bytes, *, partner_id: str, member_id: str) -> str:
    """Return the id the partner knows the member by: "pm-" and 32 lowercase base32 characters.

    The same (secret, partner, member) always gives the same id; another partner or member
    gives an unrelated one.

    Raises:
        ValueError: The secret is shorter than 32 bytes, or an id is empty or contains NUL
            (the separator in the HKDF info, which must stay unambiguous).
    """
    _check_secret(secret)
    for name, value in (("partner_id", partner_id), ("member_id", member_id)):
        if not value or "\x00" in value:
            raise ValueError(f"{name} must be non-empty and must not contain NUL")
    info = f"{partner_id}\x00{member_id}".encode()
    derived = HKDF(algorithm=hashes.SHA256(), length=PAIRWISE_ID_BYTES, salt=PAIRWISE_SALT, info=info).derive(secret)
    return PAIRWISE_ID_PREFIX + base64.b32encode(derived).decode("ascii").rstrip("=").lower()


def link_code() -> str:
    """Return a fresh one-time link code, "XXXXX-XXXXX", from an alphabet without look-alikes."""
    characters = "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(LINK_CODE_LENGTH))
    return characters[:LINK_CODE_GROUP] + LINK_CODE_SEPARATOR + characters[LINK_CODE_GROUP:]


def normalize_link_code(text: str) -> str | None:
    """Return the code a member typed in its canonical form "XXXXX-XXXXX", or None if it is not one.

    Case, spaces and dashes do not matter ("abcde fghjk", "ABCDEFGHJK" and "ABCDE-FGHJK" are
    the same code). Anything else, including look-alikes such as O or 1, makes it malformed.
    """
    if len(text) > MAX_LINK_CODE_INPUT_CHARS or not text.isascii():
        return None
    characters = _IGNORED_IN_CODES.sub("", text).upper()
    if len(characters) != LINK_CODE_LENGTH or not _CODE_CHARACTERS.issuperset(characters):
        return None
    return characters[:LINK_CODE_GROUP] + LINK_CODE_SEPARATOR + characters[LINK_CODE_GROUP:]


def code_digest(secret: bytes, code: str) -> str:
    """Return the lowercase hex HMAC-SHA256 of the normalized code: how a link code is stored.

    Raises:
        ValueError: The secret is shorter than 32 bytes, or the code is malformed.
    """
    _check_secret(secret)
    normalized = normalize_link_code(code)
    if normalized is None:
        raise ValueError("not a link code: 10 characters from the link code alphabet")
    return hmac.new(secret, normalized.encode("ascii"), hashlib.sha256).hexdigest()


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the secret must be at least {MIN_SECRET_BYTES} bytes, got {len(secret)}")


ANSWER_TAG_CONTEXT = b"coalition-answer-member-v1|"


def member_tag(secret: bytes, *, partner_id: str, member_ref: str) -> str:
    """Return the keyed tag of a brand's member reference: how a kept answer names its member.

    Erasure finds the stored answers that name the erased member by these tags and empties them,
    without the hub having to keep the reference itself beside the answer.
    """
    _check_secret(secret)
    message = ANSWER_TAG_CONTEXT + partner_id.encode("utf-8") + b"|" + member_ref.encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
