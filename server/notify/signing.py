"""Standard Webhooks signatures (https://www.standardwebhooks.com, v1: symmetric HMAC-SHA256).

A secret is ``whsec_`` and the base64 of 32 random bytes; the HMAC key is those bytes. Each
attempt is signed over ``{webhook-id}.{webhook-timestamp}.{body}`` with every secret in force:
during a rotation's overlap the new one and the previous one, so that a receiver that still
has the old secret verifies the message too. The ``webhook-signature`` header lists the
signatures, space-delimited, each as ``v1,<base64>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
USER_AGENT = "OpenHire-Webhooks/1"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64 HMAC-SHA256>`` signature."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    secrets_in_force: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The headers of one attempt: its id, its time, and a signature per secret in force."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            sign(secret, message_id, timestamp, body) for secret in secrets_in_force
        ),
    }
