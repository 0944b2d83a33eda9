"""The Ed25519 key that signs access tokens, and the JWKS that lets others verify them."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from servicekit.auth import ALGORITHM, AUDIENCE


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenSigner:
    def __init__(self, private_key: Ed25519PrivateKey, issuer: str) -> None:
        self._private_key = private_key
        self.issuer = issuer
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._public_raw = raw
        self.key_id = _b64(hashlib.sha256(raw).digest())[:16]

    @classmethod
    def from_file(cls, path: Path, issuer: str, create_if_missing: bool) -> TokenSigner:
        """Loads the PEM key; in development a missing key is generated (never in production)."""
        if not path.exists():
            if not create_if_missing:
                raise RuntimeError(f"no token signing key at {path}; mount the secret there")
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise RuntimeError(f"{path} is not an Ed25519 private key")
        return cls(key, issuer)

    def jwks_json(self) -> str:
        return json.dumps(
            {
                "keys": [
                    {
                        "kty": "OKP",
                        "crv": "Ed25519",
                        "x": _b64(self._public_raw),
                        "kid": self.key_id,
                        "use": "sig",
                        "alg": ALGORITHM,
                    }
                ]
            }
        )

    def access_token(self, claims: dict, now: datetime, ttl: timedelta) -> str:
        payload = {
            **claims,
            "iss": self.issuer,
            "aud": AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "jti": str(uuid.uuid4()),
            "typ": "access",
        }
        return jwt.encode(payload, self._private_key, algorithm=ALGORITHM, headers={"kid": self.key_id})
