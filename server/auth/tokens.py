"""Access tokens with Supabase's claims, signed by the server in embedded mode.

The signing key is an ECDSA P-256 key (ES256, as Supabase's asymmetric keys are) kept in
``<data_dir>/jwt_signing_key.pem``, created on first start with mode 0600. Its public half is
published at ``/auth/v1/.well-known/jwks.json`` so that other services can verify tokens.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from server.errors import Unauthorized

AUDIENCE = "authenticated"
ALGORITHM = "ES256"


@dataclass(frozen=True, slots=True)
class Claims:
    sub: uuid.UUID
    email: str | None
    role: str
    exp: int


def load_or_create_signing_key(path: Path) -> ec.EllipticCurvePrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path} does not hold an EC private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL: never overwrite a key another process wrote meanwhile (nodes sharing one key
    # file may start together: the one that lost the race reads the winner's); 0600 from the
    # start.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_signing_key(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


class TokenIssuer:
    """Signs and verifies the server's own access tokens."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, *, issuer: str, ttl_s: int) -> None:
        self._key = key
        self._public = key.public_key()
        self.issuer = issuer
        self.ttl_s = ttl_s
        der = self._public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = hashlib.sha256(der).hexdigest()[:16]

    def issue(self, user_id: uuid.UUID, email: str, *, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": str(user_id),
            "email": email,
            "role": "authenticated",
            "iat": issued,
            "exp": issued + self.ttl_s,
            "session_id": str(uuid.uuid4()),
            "is_anonymous": False,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def verify(self, token: str) -> Claims:
        try:
            payload = jwt.decode(
                token,
                self._public,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self.issuer,
                options={"require": ["exp", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the access token has expired", code="token_expired") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("the access token is not valid", code="invalid_token") from None
        try:
            sub = uuid.UUID(str(payload["sub"]))
        except ValueError:
            raise Unauthorized("the access token is not valid", code="invalid_token") from None
        return Claims(
            sub=sub,
            email=payload.get("email"),
            role=str(payload.get("role", "")),
            exp=int(payload["exp"]),
        )

    def jwks(self) -> dict[str, Any]:
        numbers = self._public.public_numbers()

        def b64(value: int) -> str:
            return jwt.utils.base64url_encode(value.to_bytes(32, "big")).decode()

        return {
            "keys": [
                {
                    "kty": "EC",
                    "crv": "P-256",
                    "x": b64(numbers.x),
                    "y": b64(numbers.y),
                    "kid": self.kid,
                    "alg": ALGORITHM,
                    "use": "sig",
                }
            ]
        }
