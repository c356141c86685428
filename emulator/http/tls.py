"""HTTPS for the emulator: TLS 1.2 or newer, with the user's certificate or a generated local CA.

Without ``--tls-cert``, a throwaway CA and a server certificate for ``localhost``,
``127.0.0.1`` and ``::1`` are generated at start (EC P-256, valid for 30 days). Only the CA
certificate is written out, so a client can trust it (``verify=<ca.pem>``). The private keys
stay in memory, except for the moment ``ssl`` needs the server key in a file: it is written to
a private (0700) temporary directory, loaded, and removed at once.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from emulator.settings import Settings

CA_FILE_NAME = "emulator-ca.pem"
VALIDITY = dt.timedelta(days=30)


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """What the server needs for TLS: its context, and where the generated CA was written."""

    context: ssl.SSLContext
    ca_path: Path | None


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server context that refuses anything below TLS 1.2."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OCR emulator (local)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def generate_local_ca(hosts: tuple[str, ...] = ()) -> tuple[bytes, bytes, bytes]:
    """Return ``(ca_cert_pem, server_cert_pem, server_key_pem)`` for a fresh local CA.

    The server certificate names localhost, 127.0.0.1 and ::1, plus ``hosts``.
    """
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("OCR emulator local CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    addresses = {"127.0.0.1", "::1"}
    for host in hosts:
        try:
            addresses.add(str(ipaddress.ip_address(host.strip("[]"))))
        except ValueError:
            if host and host != "localhost":
                names.append(x509.DNSName(host))
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in sorted(addresses)]
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return (
        ca_cert.public_bytes(serialization.Encoding.PEM),
        server_cert.public_bytes(serialization.Encoding.PEM),
        _pem_key(server_key),
    )


def default_ca_path(settings: Settings) -> Path:
    """Where the CA certificate goes when ``--tls-ca-out`` is not given."""
    if settings.tls_ca_out is not None:
        return settings.tls_ca_out
    if settings.data_dir is not None:
        return settings.data_dir / CA_FILE_NAME
    return Path(tempfile.gettempdir()) / f"ocr-emulator-{os.getpid()}" / CA_FILE_NAME


def prepare(settings: Settings) -> TlsMaterial:
    """Build the server's TLS context from the settings, generating a CA if needed."""
    if settings.tls_cert is not None and settings.tls_key is not None:
        return TlsMaterial(server_context(settings.tls_cert, settings.tls_key), None)
    ca_pem, cert_pem, key_pem = generate_local_ca((settings.host,))
    ca_path = default_ca_path(settings)
    ca_path.parent.mkdir(parents=True, exist_ok=True)
    ca_path.write_bytes(ca_pem)
    # ssl can only load a key from a file: write it to a private directory, load, remove.
    with tempfile.TemporaryDirectory(prefix="ocr-emulator-tls-") as private:
        cert_file = Path(private) / "server.pem"
        key_file = Path(private) / "server.key"
        cert_file.write_bytes(cert_pem)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key_pem)
        context = server_context(cert_file, key_file)
    return TlsMaterial(context, ca_path)
