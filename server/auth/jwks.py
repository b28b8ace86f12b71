"""Supabase access tokens, verified here against the project's published key set (JWKS).

Tokens are checked locally, without a call to Supabase per request: the signature with the key
the token's ``kid`` names, ``aud`` == ``authenticated``, ``iss`` == ``<SUPABASE_URL>/auth/v1``,
``exp`` (no leeway, as for the server's own tokens), ``iat``/``nbf`` (30 s of leeway for the
clock difference between Supabase and this host), and a ``sub`` that is a UUID.

Algorithms: ES256 and RS256, each only with a key of its own type (EC P-256, RSA >= 2048
bits). HS256 only when a legacy JWT secret (``SUPABASE_JWT_SECRET``) is configured, and then
verified with that secret, never with a published key. ``none`` never.

The key set is cached for ``ttl_s`` (10 minutes) and fetched again when it is older, or when
a token names a ``kid`` the cache does not hold (a rotation). Such refetches happen at most
once per ``refetch_interval_s`` (10 s): a flood of tokens with made-up ``kid`` values costs
Supabase one request per interval, and concurrent misses share the one fetch in flight. A
failed fetch keeps the keys already known, so a Supabase outage does not log everyone out.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import structlog
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from server.auth.tokens import AUDIENCE, Claims
from server.errors import KeySetUnavailable as KeySetUnavailable  # re-exported: fetches raise it
from server.errors import Unauthorized

log = structlog.get_logger(__name__)

ASYMMETRIC = ("ES256", "RS256")
_KTY = {"ES256": "EC", "RS256": "RSA"}
_PUBLIC_FIELDS = {"EC": ("kty", "crv", "x", "y"), "RSA": ("kty", "n", "e")}
MIN_RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class VerificationKey:
    kid: str
    alg: str
    key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey
    jwk: dict[str, str]  # the public fields, as published


def _invalid() -> Unauthorized:
    return Unauthorized("the access token is not valid", code="invalid_token")


def parse_key_set(document: Any) -> dict[str, VerificationKey]:
    """The usable signing keys of a JWKS document, by kid. Raises KeySetUnavailable when the
    document is not a key set at all; keys this verifier cannot use are left out."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise KeySetUnavailable('the answer is not a JSON Web Key Set (no "keys" list)')
    keys: dict[str, VerificationKey] = {}
    for entry in document["keys"]:
        key = _parse_key(entry)
        if key is not None:
            keys[key.kid] = key
    return keys


def _parse_key(entry: Any) -> VerificationKey | None:
    if not isinstance(entry, Mapping):
        return None
    kid, kty = entry.get("kid"), entry.get("kty")
    if not isinstance(kid, str) or not kid or kty not in _PUBLIC_FIELDS:
        # Symmetric ("oct") keys are never taken from a published set.
        return None
    alg = entry.get("alg", "ES256" if kty == "EC" else "RS256")
    if alg not in ASYMMETRIC or _KTY[alg] != kty:
        log.warning("jwks.key_skipped", kid=kid, kty=kty, alg=alg, reason="alg and kty differ")
        return None
    if entry.get("use", "sig") != "sig":
        return None
    ops = entry.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None
    public = {name: entry.get(name) for name in _PUBLIC_FIELDS[kty]}
    if not all(isinstance(value, str) for value in public.values()):
        return None
    try:
        if kty == "EC":
            if public["crv"] != "P-256":
                return None
            key: Any = ECAlgorithm.from_jwk(public)
        else:
            key = RSAAlgorithm.from_jwk(public)
    except (jwt.InvalidKeyError, ValueError, TypeError):
        log.warning("jwks.key_skipped", kid=kid, kty=kty, reason="malformed key")
        return None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        log.warning("jwks.key_skipped", kid=kid, kty=kty, reason="RSA key too short")
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return None
    published = {**public, "kid": kid, "alg": alg, "use": "sig"}
    return VerificationKey(kid=kid, alg=alg, key=key, jwk=published)


class JwksVerifier:
    """Verifies a Supabase project's access tokens against its JWKS."""

    def __init__(
        self,
        *,
        jwks_url: str,
        issuer: str,
        http: httpx.AsyncClient,
        headers: Mapping[str, str] | None = None,
        legacy_secret: str | None = None,
        ttl_s: float = 600.0,
        refetch_interval_s: float = 10.0,
        leeway_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self._http = http
        self._headers = dict(headers or {})
        self._legacy_secret = legacy_secret
        self.ttl_s = ttl_s
        self.refetch_interval_s = refetch_interval_s
        self.leeway_s = leeway_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._keys: dict[str, VerificationKey] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch started, successful or not
        self._inflight: asyncio.Task[None] | None = None
        self.fetches = 0  # fetches started: for tests and logs

    @property
    def keys(self) -> dict[str, VerificationKey]:
        return dict(self._keys)

    @property
    def accepts_legacy_tokens(self) -> bool:
        return self._legacy_secret is not None

    def key_set(self) -> dict[str, Any]:
        """The public keys currently trusted, as a JWKS document."""
        return {"keys": [k.jwk for k in self._keys.values()]}

    async def refresh(self) -> dict[str, VerificationKey]:
        """Fetch the key set now (at start-up); raises KeySetUnavailable if it cannot."""
        self._attempted_at = self._clock()
        self.fetches += 1
        self._keys = await self._fetch()
        self._fetched_at = self._clock()
        return self.keys

    async def verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise _invalid() from None
        alg = header.get("alg")
        if alg == "HS256" and self._legacy_secret is not None:
            payload = self._decode(token, self._legacy_secret, "HS256")
        elif alg in ASYMMETRIC:
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise _invalid()
            key = await self._key_for(kid)
            if key is None or key.alg != alg:
                # Unknown kid even after a refetch, or a key of another type than the token
                # says (an RS256 token must not be checked with an EC key, nor the reverse).
                raise _invalid()
            payload = self._decode(token, key.key, alg)
        else:
            raise _invalid()
        return self._claims(payload)

    async def aclose(self) -> None:
        task, self._inflight = self._inflight, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- keys ----------------------------------------------------------------------------

    async def _key_for(self, kid: str) -> VerificationKey | None:
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at >= self.ttl_s
        key = self._keys.get(kid)
        if key is not None and not stale:
            return key
        # A stale set is refreshed (the known key still serves if that fails); an unknown
        # kid may mean a rotation. Either way, at most one fetch per interval.
        await self._refetch()
        return self._keys.get(kid)

    async def _refetch(self) -> None:
        if self._inflight is None:
            now = self._clock()
            if self._attempted_at is not None and now - self._attempted_at < (
                self.refetch_interval_s
            ):
                return
            self._attempted_at = now
            self.fetches += 1
            self._inflight = asyncio.create_task(self._refetch_once())
        # Shielded: a request cancelled while waiting must not cancel the fetch the others
        # are waiting for.
        await asyncio.shield(self._inflight)

    async def _refetch_once(self) -> None:
        try:
            self._keys = await self._fetch()
            self._fetched_at = self._clock()
            log.info("jwks.fetched", kids=sorted(self._keys))
        except KeySetUnavailable as exc:
            log.warning("jwks.fetch_failed", url=self.jwks_url, reason=str(exc))
        finally:
            self._inflight = None

    async def _fetch(self) -> dict[str, VerificationKey]:
        try:
            response = await self._http.get(self.jwks_url, headers=self._headers)
        except httpx.TimeoutException:
            raise KeySetUnavailable(f"no answer from {self.jwks_url} in time") from None
        except httpx.HTTPError as exc:
            raise KeySetUnavailable(f"{type(exc).__name__}: {exc or 'no detail'}") from None
        if response.status_code != 200:
            raise KeySetUnavailable(f"GET {self.jwks_url} answered {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise KeySetUnavailable(f"GET {self.jwks_url} did not answer JSON") from None
        return parse_key_set(document)

    # --- claims --------------------------------------------------------------------------

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=AUDIENCE,
                issuer=self.issuer,
                leeway=self.leeway_s,
                # exp is checked below, without the leeway that iat and nbf get.
                options={"require": ["exp", "sub", "aud", "iss"], "verify_exp": False},
            )
        except jwt.InvalidTokenError:
            raise _invalid() from None
        exp = payload["exp"]
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise _invalid()
        if exp <= self._wall_clock():
            raise Unauthorized("the access token has expired", code="token_expired")
        return payload

    @staticmethod
    def _claims(payload: dict[str, Any]) -> Claims:
        try:
            sub = uuid.UUID(str(payload["sub"]))
        except ValueError:
            raise _invalid() from None
        email = payload.get("email")
        return Claims(
            sub=sub,
            email=email if isinstance(email, str) else None,
            role=str(payload.get("role", "")),
            exp=int(payload["exp"]),
        )
