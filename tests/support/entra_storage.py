"""Azurite as an account with shared keys off: HTTPS and bearer tokens only.

Azurite's ``--oauth basic`` checks a token's issuer, audience and lifetime (not its signature),
and accepts bearer tokens over HTTPS only, as Azure Storage does. The certificate is
self-signed for 127.0.0.1; the token credential stands in for a managed identity.
"""

from __future__ import annotations

import base64
import datetime
import json
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ISSUER = "https://sts.windows.net/00000000-0000-0000-0000-000000000000/"
STORAGE_AUDIENCE = "https://storage.azure.com"


def write_self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for https://127.0.0.1, as PEM files."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def trust_for_aiohttp(cert_path: Path) -> None:
    """Make the SDKs' aiohttp transport trust the certificate, in this process only.

    aiohttp builds its verifying SSL context once, at import; the Azure SDK uses it when
    ``connection_verify`` is left at its default, as the app leaves it.
    """
    from aiohttp import connector

    context: ssl.SSLContext = connector._SSL_CONTEXT_VERIFIED
    context.load_verify_locations(cafile=str(cert_path))


def _b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned_token(audience: str, lifetime_seconds: int) -> str:
    now = int(time.time())
    claims = {
        "aud": audience,
        "iss": ISSUER,
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + lifetime_seconds,
        "oid": "00000000-0000-0000-0000-0000000000c1",
    }
    return f"{_b64url({'alg': 'none', 'typ': 'JWT'})}.{_b64url(claims)}."


@dataclass
class StandInIdentity:
    """An async token credential that hands out Azurite-acceptable tokens and records the
    scopes it was asked for."""

    lifetime_seconds: int = 3600
    scopes: list[str] = field(default_factory=list)
    closed: bool = False

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        token = unsigned_token(STORAGE_AUDIENCE, self.lifetime_seconds)
        return AccessToken(token, int(time.time()) + max(self.lifetime_seconds, 0))

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> StandInIdentity:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
