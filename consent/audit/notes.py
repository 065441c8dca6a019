"""Signed checkpoints in the C2SP formats: signed-note, tlog-checkpoint and
tlog-cosignature (Ed25519), so that anyone can check them with public tools.

A checkpoint's body is three lines — origin, tree size, base64 root hash —
and the note's signature lines follow a blank line::

    tvaerakut.local/audit/2026
    1234
    <base64 root>

    — tvaerakut.local/audit/2026 <base64(key id || Ed25519 signature)>
    — witness.example/w1 <base64(key id || timestamp || Ed25519 signature)>

The log signs the body itself (key id algorithm byte 0x01); a witness signs
``cosignature/v1\\ntime <t>\\n`` followed by the body (algorithm byte 0x04).
This module imports nothing from Django.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
_DASH = "\u2014 "


class NoteError(ValueError):
    """Text that is not a well-formed signed note or checkpoint."""


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, public: Ed25519PublicKey, algorithm: int) -> bytes:
    named = name.encode() + b"\n" + bytes([algorithm]) + _raw_public(public)
    return hashlib.sha256(named).digest()[:4]


@dataclass(frozen=True)
class NoteKey:
    """A signer's name and Ed25519 key; ``algorithm`` says whether it signs
    notes (the log) or cosignatures (a witness)."""

    name: str
    private: Ed25519PrivateKey
    algorithm: int = ED25519

    @classmethod
    def from_seed(cls, name: str, seed: bytes, algorithm: int = ED25519) -> NoteKey:
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed), algorithm)

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public, self.algorithm)

    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self.public, self.algorithm)


@dataclass(frozen=True)
class NoteVerifier:
    name: str
    public: Ed25519PublicKey
    algorithm: int = ED25519

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public, self.algorithm)

    def vkey(self) -> str:
        """The verifier key as signed-note writes it: name+hex id+base64(type || key)."""
        encoded = base64.b64encode(bytes([self.algorithm]) + _raw_public(self.public)).decode()
        return f"{self.name}+{self.id.hex()}+{encoded}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        try:
            name, hex_id, encoded = vkey.split("+", 2)
            raw = base64.b64decode(encoded, validate=True)
            verifier = cls(name, Ed25519PublicKey.from_public_bytes(raw[1:]), raw[0])
        except (ValueError, IndexError, binascii.Error) as exc:
            raise NoteError("not a verifier key") from exc
        if verifier.id.hex() != hex_id or verifier.algorithm not in (ED25519, COSIGNATURE_V1):
            raise NoteError("the verifier key's id does not match its key")
        return verifier


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            *self.extensions,
        ]
        return "".join(line + "\n" for line in lines)


def _plain(text: str) -> None:
    """Note text is UTF-8 without control characters other than newlines."""
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        raise NoteError("the note is not valid text") from exc
    if any(c < " " and c != "\n" for c in text):
        raise NoteError("the note holds control characters")


def checkpoint_parse(body: str) -> Checkpoint:
    _plain(body)
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
        raise NoteError("a checkpoint has an origin, a size and a root hash, one per line")
    origin, size, root = lines[0], lines[1], lines[2]
    # A tree size is an unsigned 64-bit number (C2SP tlog-checkpoint): at most 20 digits.
    if (
        not (size.isascii() and size.isdigit())
        or len(size) > 20
        or (size != "0" and size.startswith("0"))
    ):
        raise NoteError("the tree size is not a decimal number")
    try:
        root_hash = base64.b64decode(root, validate=True)
    except binascii.Error as exc:
        raise NoteError("the root hash is not base64") from exc
    if len(root_hash) != 32:
        raise NoteError("the root hash is not 32 bytes")
    return Checkpoint(origin, int(size), root_hash, tuple(lines[3:-1]))


@dataclass(frozen=True)
class SignatureLine:
    name: str
    key_id: bytes
    signature: bytes

    def text(self) -> str:
        return f"{_DASH}{self.name} {base64.b64encode(self.key_id + self.signature).decode()}\n"


def note_split(text: str) -> tuple[str, list[SignatureLine]]:
    """The body and the signature lines of a signed note."""
    _plain(text)
    body, sep, signatures = text.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteError("a signed note is a body, a blank line and signature lines")
    lines = []
    for line in signatures[:-1].split("\n"):
        if not line.startswith(_DASH) or " " not in line[len(_DASH) :]:
            raise NoteError("a signature line is '— <name> <signature>'")
        name, encoded = line[len(_DASH) :].rsplit(" ", 1)
        try:
            raw = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise NoteError("a signature is not base64") from exc
        if len(raw) < 5:
            raise NoteError("a signature is too short")
        lines.append(SignatureLine(name, raw[:4], raw[4:]))
    return body + "\n", lines


def note_sign(body: str, key: NoteKey) -> SignatureLine:
    return SignatureLine(key.name, key.id, key.private.sign(body.encode()))


def _cosigned_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()


def cosign(body: str, key: NoteKey, timestamp: int) -> SignatureLine:
    signature = key.private.sign(_cosigned_message(body, timestamp))
    return SignatureLine(key.name, key.id, struct.pack(">Q", timestamp) + signature)


def signature_find(lines: Sequence[SignatureLine], verifier: NoteVerifier) -> SignatureLine | None:
    return next((s for s in lines if s.name == verifier.name and s.key_id == verifier.id), None)


def signature_valid(body: str, line: SignatureLine, verifier: NoteVerifier) -> bool:
    """True when ``line`` is ``verifier``'s valid signature (or cosignature) of ``body``."""
    if line.name != verifier.name or line.key_id != verifier.id:
        return False
    message, signature = body.encode(), line.signature
    if verifier.algorithm == COSIGNATURE_V1:
        if len(signature) != 72:
            return False
        message = _cosigned_message(body, struct.unpack(">Q", signature[:8])[0])
        signature = signature[8:]
    try:
        verifier.public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def cosignature_time(line: SignatureLine) -> int:
    return int(struct.unpack(">Q", line.signature[:8])[0])


def note_text(body: str, lines: Sequence[SignatureLine]) -> str:
    return body + "\n" + "".join(line.text() for line in lines)
