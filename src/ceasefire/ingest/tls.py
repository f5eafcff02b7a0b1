"""CoT over TLS (the TAK convention, port 8089): who sends is proven by a client certificate.

Why: over HTTP a contingent's records come with its token; a plain CoT socket proves nothing,
so anyone on the network could send events claiming either contingent. Over TLS the center
asks every client for a certificate issued by the mission's certificate authority, and the
certificate's organisational unit (``OU``) names the contingent: every event on that connection
is that contingent's, and one claiming the other is refused.

``ceasefire certs init`` makes the authority and the listener's certificate;
``ceasefire certs issue RU`` a client certificate for RU's TAK clients (PEM files, the keys
with mode 600). Made with ``cryptography``; the server side is Python's ``ssl``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ceasefire.errors import CeasefireError
from ceasefire.i18n import _

TLS_PORT = 8089
CA, SERVER = "ca", "server"
DAYS = 825


def _name(common: str, unit: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ceasefire")]
    if unit is not None:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common))
    return x509.Name(parts)


def _write(
    directory: Path, stem: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
) -> None:
    key_path = directory / f"{stem}.key"
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    (directory / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _load(directory: Path, stem: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    try:
        key = serialization.load_pem_private_key((directory / f"{stem}.key").read_bytes(), None)
        cert = x509.load_pem_x509_certificate((directory / f"{stem}.pem").read_bytes())
    except (OSError, ValueError) as e:
        raise CeasefireError(
            _("cannot read {path}: {error}").format(path=directory / f"{stem}.pem", error=e)
        ) from e
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key, cert


def _certificate(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    usage: x509.ObjectIdentifier | None = None,
    hosts: tuple[str, ...] = (),
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=DAYS))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if hosts:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signer, hashes.SHA256())


def init_certs(directory: Path, mission_id: str, hosts: tuple[str, ...]) -> None:
    """The mission's CoT certificate authority and the listener's certificate for ``hosts``."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / f"{CA}.key").exists():
        raise CeasefireError(
            _("{path} exists: the authority is made once").format(path=directory / f"{CA}.key")
        )
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"ceasefire {mission_id} CoT authority")
    _write(directory, CA, ca_key, _certificate(ca_name, ca_key, ca_name, ca_key, ca=True))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate(
        _name(hosts[0]),
        server_key,
        ca_name,
        ca_key,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        hosts=hosts,
    )
    _write(directory, SERVER, server_key, server)


def issue_cert(directory: Path, contingent: str, name: str | None = None) -> Path:
    """A client certificate for one of ``contingent``'s TAK clients; the certificate's path."""
    ca_key, ca_cert = _load(directory, CA)
    key = ec.generate_private_key(ec.SECP256R1())
    stem = name or contingent
    cert = _certificate(
        _name(stem, contingent),
        key,
        ca_cert.subject,
        ca_key,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
    )
    _write(directory, stem, key, cert)
    return directory / f"{stem}.pem"


def server_context(directory: Path) -> ssl.SSLContext:
    """The listener's side: its certificate, and a client certificate of the authority
    required of every client."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(directory / f"{SERVER}.pem", directory / f"{SERVER}.key")
        context.load_verify_locations(directory / f"{CA}.pem")
    except (OSError, ssl.SSLError) as e:
        raise CeasefireError(
            _("cannot read the CoT certificates in {path}: {error}").format(path=directory, error=e)
        ) from e
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def contingent_of(peercert: object) -> str | None:
    """The contingent a verified client certificate names (its ``OU``), or None."""
    if not isinstance(peercert, dict):
        return None
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "organizationalUnitName":
                return str(value)
    return None


__all__ = ["TLS_PORT", "contingent_of", "init_certs", "issue_cert", "server_context"]
