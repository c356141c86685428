"""Encryption at rest: AES-256-GCM, a fresh 96-bit nonce per record, the operation id as
associated data.

Binding each record to its operation id means a record copied onto another id fails to
decrypt instead of silently serving one client's document to another. The key is generated
in memory (nothing survives a restart, which is fine for the in-memory store) or kept in a
key file so a persistent store can be read again after a restart.

Results are one record each. Documents are sealed in segments as they stream in
(:meth:`RecordCipher.seal_segment`, used by :mod:`emulator.security.sealed`): each segment's
associated data also binds its position and whether it is the last, so segments cannot be
reordered, dropped from the end or moved to another document without failing to decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_FILE_NAME = "encryption.key"


class KeyFileError(ValueError):
    """The key file cannot be used (wrong size); the message names the file and the problem."""


class DecryptionError(Exception):
    """A record did not decrypt: wrong key, wrong operation id, or tampered bytes."""


class RecordCipher:
    """Encrypts and decrypts store records for one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the encryption key must be {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)
        # A separate key for digests, so that no value derived from it says anything about
        # the encryption key itself.
        self._digest_key = hmac.digest(key, b"ocr-emulator digest key", "sha256")

    @classmethod
    def generate(cls) -> RecordCipher:
        """A cipher with a fresh random key that lives only in memory."""
        return cls(AESGCM.generate_key(bit_length=256))

    def encrypt(self, operation_id: str, plaintext: bytes) -> bytes:
        """``nonce || ciphertext || tag`` for ``plaintext`` bound to ``operation_id``.

        For small records (a page's result); documents are sealed in segments as they
        stream in (:meth:`seal_segment`).
        """
        return self._seal(plaintext, operation_id.encode())

    def decrypt(self, operation_id: str, record: bytes | bytearray) -> bytes:
        """The plaintext of ``record``; :class:`DecryptionError` if it does not authenticate."""
        return self._open(record, operation_id.encode(), f"record of operation {operation_id}")

    def digest(self, label: str, data: bytes) -> str:
        """A keyed digest (HMAC-SHA-256, hex) of ``data`` for ``label``: a name for a secret
        (an API key's rate window) that a shared store can hold without learning the secret,
        and that only nodes with the same key compute alike (the cluster's key check)."""
        message = label.encode() + b"\x00" + data
        return hmac.new(self._digest_key, message, hashlib.sha256).hexdigest()

    def seal_segment(
        self, operation_id: str, index: int, final: bool, plaintext: bytes | memoryview
    ) -> bytes:
        """``nonce || ciphertext || tag`` for segment ``index`` of a document.

        The associated data is the operation id, the index and the ``final`` flag (the
        STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár, as in Tink's streaming
        AEAD), so a truncated, reordered or spliced document does not decrypt.
        """
        return self._seal(plaintext, _segment_aad(operation_id, index, final))

    def open_segment(
        self, operation_id: str, index: int, final: bool, sealed: bytes | bytearray
    ) -> bytes:
        """The plaintext of a sealed segment; :class:`DecryptionError` if it does not
        authenticate as segment ``index`` (last or not, per ``final``) of ``operation_id``."""
        return self._open(
            sealed,
            _segment_aad(operation_id, index, final),
            f"segment {index} of operation {operation_id}",
        )

    def _seal(self, plaintext: bytes | memoryview, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def _open(self, record: bytes | bytearray, aad: bytes, what: str) -> bytes:
        # A view, not a slice: slicing would copy the whole ciphertext once more.
        view = memoryview(record)
        nonce, ciphertext = bytes(view[:NONCE_BYTES]), view[NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise DecryptionError(f"{what} did not decrypt") from None


#: Bytes a sealed segment adds to its plaintext (the nonce and the tag).
SEGMENT_OVERHEAD = NONCE_BYTES + TAG_BYTES


def _segment_aad(operation_id: str, index: int, final: bool) -> bytes:
    # The id is a UUID (no NUL), so the separator keeps the encoding unambiguous.
    return b"%s\x00%d\x00%d" % (operation_id.encode(), index, int(final))


def load_or_create_key(path: Path) -> bytes:
    """Read the 32-byte key at ``path``, or create it (mode 0600) if it does not exist.

    Raises :class:`KeyFileError` if the file exists but does not hold exactly 32 bytes.

    The file holds the raw key bytes. Creation uses ``O_EXCL`` so two processes starting at
    once cannot each write a different key.
    """
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = AESGCM.generate_key(bit_length=256)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_key(path)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return key
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"{path} must hold exactly {KEY_BYTES} bytes, not {len(key)}")
    return key
