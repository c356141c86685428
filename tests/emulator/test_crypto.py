"""Records are AES-256-GCM with a fresh nonce and bound to their operation id."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.security.crypto import DecryptionError, RecordCipher, load_or_create_key


def test_round_trip_and_fresh_nonces() -> None:
    cipher = RecordCipher.generate()
    first = cipher.encrypt("op-1", b"secret text")
    second = cipher.encrypt("op-1", b"secret text")
    assert first != second
    assert first[:12] != second[:12]
    assert b"secret text" not in first
    assert cipher.decrypt("op-1", first) == b"secret text"


def test_record_is_bound_to_its_operation_id() -> None:
    cipher = RecordCipher.generate()
    record = cipher.encrypt("op-1", b"data")
    with pytest.raises(DecryptionError):
        cipher.decrypt("op-2", record)


def test_tampering_is_detected() -> None:
    cipher = RecordCipher.generate()
    record = bytearray(cipher.encrypt("op", b"data"))
    record[-1] ^= 1
    with pytest.raises(DecryptionError):
        cipher.decrypt("op", bytes(record))


def test_key_file_must_hold_32_bytes(tmp_path: Path) -> None:
    bad = tmp_path / "short.key"
    bad.write_bytes(b"x" * 16)
    with pytest.raises(ValueError, match="32 bytes"):
        load_or_create_key(bad)
    with pytest.raises(ValueError):
        RecordCipher(b"short")
