"""JwksVerifier: Supabase access tokens checked against a project's key set, served by the
fake Supabase Auth on a loopback port, with tokens minted from freshly generated keys."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from server.auth.jwks import JwksVerifier, parse_key_set
from server.errors import KeySetUnavailable, Unauthorized
from tests.fake_supabase_auth import (
    FakeSupabaseAuth,
    SigningKey,
    serve_fake_supabase_auth,
)
from tests.loopback import serve_app

LEGACY_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def fake() -> Iterator[FakeSupabaseAuth]:
    with serve_fake_supabase_auth() as running:
        yield running


def make_verifier(fake: FakeSupabaseAuth, http: httpx.AsyncClient, **options: Any) -> JwksVerifier:
    return JwksVerifier(
        jwks_url=f"{fake.issuer}/.well-known/jwks.json",
        issuer=fake.issuer,
        http=http,
        **options,
    )


async def rejected(verifier: JwksVerifier, token: str, code: str = "invalid_token") -> None:
    with pytest.raises(Unauthorized) as info:
        await verifier.verify(token)
    assert info.value.code == code, info.value.message
    assert info.value.status == 401


def encode_unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes) -> str:
    def b64(data: bytes) -> str:
        return jwt.utils.base64url_encode(data).decode()

    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    )


# --- accepted ------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
async def test_a_token_of_the_published_key_is_accepted(http: httpx.AsyncClient, alg: str) -> None:
    with serve_fake_supabase_auth(alg=alg) as fake:
        verifier = make_verifier(fake, http)
        keys = await verifier.refresh()
        assert list(keys) == [fake.current.kid]
        assert keys[fake.current.kid].alg == alg
        user = uuid.uuid4()
        token = fake.mint(user, email="ada@example.test")
        assert jwt.get_unverified_header(token)["alg"] == alg
        claims = await verifier.verify(token)
        assert claims.sub == user
        assert claims.email == "ada@example.test"
        assert claims.role == "authenticated"
        assert claims.exp == jwt.decode(token, options={"verify_signature": False})["exp"]
        # The cached set is used: one fetch however many tokens.
        for _ in range(5):
            await verifier.verify(fake.mint(uuid.uuid4()))
        assert fake.jwks_fetches == 1


async def test_the_key_set_served_holds_public_keys_only(
    fake: FakeSupabaseAuth, http: httpx.AsyncClient
) -> None:
    fake.rotate("RS256")
    verifier = make_verifier(fake, http)
    await verifier.refresh()
    served = verifier.key_set()["keys"]
    assert {k["kid"] for k in served} == {k.kid for k in fake.published}
    for key in served:
        assert "d" not in key and "p" not in key
        assert key["use"] == "sig"
        assert key["alg"] in ("ES256", "RS256")
        # What is served verifies what the fake signs.
        signed = next(k for k in fake.published if k.kid == key["kid"])
        token = fake.mint(uuid.uuid4(), key=signed)
        jwt.decode(token, jwt.PyJWK(key).key, algorithms=[key["alg"]], audience="authenticated")


# --- refused -------------------------------------------------------------------------------


async def test_a_token_signed_by_another_key_is_refused(
    fake: FakeSupabaseAuth, http: httpx.AsyncClient
) -> None:
    verifier = make_verifier(fake, http)
    await verifier.refresh()
    # Same kid as the published key, but a key the project never had.
    impostor = SigningKey(fake.current.kid, "ES256", ec.generate_private_key(ec.SECP256R1()))
    await rejected(verifier, fake.mint(uuid.uuid4(), key=impostor))
    # The genuine key still works, so the refusal is the signature's.
    await verifier.verify(fake.mint(uuid.uuid4()))


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "anon"},
        {"aud": "service_role"},
        {"aud": ["other"]},
        {"aud": None},
        {"iss": "supabase"},  # what the legacy anon and service_role keys carry
        {"iss": "https://another-project.supabase.co/auth/v1"},
        {"iss": None},
        {"sub": "not-a-uuid"},
        {"sub": None},
        {"exp": None},
        {"exp": "tomorrow"},
        {"nbf": int(time.time()) + 3600},
        {"iat": int(time.time()) + 3600},
    ],
    ids=[
        "aud-anon",
        "aud-service",
        "aud-other",
        "aud-missing",
        "iss-legacy-key",
        "iss-other-project",
        "iss-missing",
        "sub-not-uuid",
        "sub-missing",
        "exp-missing",
        "exp-not-a-number",
        "nbf-future",
        "iat-future",
    ],
)
async def test_wrong_claims_are_refused(
    fake: FakeSupabaseAuth, http: httpx.AsyncClient, claims: dict[str, Any]
) -> None:
    verifier = make_verifier(fake, http)
    await verifier.refresh()
    await rejected(verifier, fake.mint(uuid.uuid4(), **claims))


async def test_expiry_has_no_leeway_but_issue_time_has_some(
    fake: FakeSupabaseAuth, http: httpx.AsyncClient
) -> None:
    verifier = make_verifier(fake, http)
    await verifier.refresh()
    now = int(time.time())
    await rejected(verifier, fake.mint(uuid.uuid4(), exp=now - 3600), "token_expired")
    await rejected(verifier, fake.mint(uuid.uuid4(), exp=now - 1), "token_expired")
    # Supabase's clock a little ahead of ours: a token issued "in 10 s" is fine.
    await verifier.verify(fake.mint(uuid.uuid4(), iat=now + 10, nbf=now + 10))


async def test_alg_none_is_refused(fake: FakeSupabaseAuth, http: httpx.AsyncClient) -> None:
    verifier = make_verifier(fake, http)
    await verifier.refresh()
    claims = jwt.decode(fake.mint(uuid.uuid4()), options={"verify_signature": False})
    for alg in ("none", "None", "NONE"):
        token = encode_unsigned({"alg": alg, "kid": fake.current.kid}, claims, b"")
        await rejected(verifier, token)


async def test_an_algorithm_that_does_not_match_the_key_type_is_refused(
    fake: FakeSupabaseAuth, http: httpx.AsyncClient
) -> None:
    ec_key = fake.current
    rsa_key = fake.rotate("RS256")
    verifier = make_verifier(fake, http)
    await verifier.refresh()
    user = uuid.uuid4()
    # An RS256 token naming the EC key's kid (and the reverse): never checked with the
    # wrong kind of key, whatever it is signed with.
    rs_as_ec = SigningKey(ec_key.kid, "RS256", rsa_key.private)
    await rejected(verifier, fake.mint(user, key=rs_as_ec))
    es_as_rsa = SigningKey(rsa_key.kid, "ES256", ec_key.private)
    await rejected(verifier, fake.mint(user, key=es_as_rsa))
    # HS256 "signed" with the published public key: the classic confusion forgery.
    pem = ec_key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = jwt.decode(fake.mint(user), options={"verify_signature": False})
    header = {"alg": "HS256", "typ": "JWT", "kid": ec_key.kid}
    signing_input = ".".join(encode_unsigned(header, claims, b"").split(".")[:2]).encode()
    forged = encode_unsigned(header, claims, hmac.new(pem, signing_input, hashlib.sha256).digest())
    await rejected(verifier, forged)
    # The same keys, used as published, verify.
    await verifier.verify(fake.mint(user, key=ec_key))
    await verifier.verify(fake.mint(user, key=rsa_key))


async def test_a_token_without_a_kid_or_of_another_algorithm_is_refused(
    fake: FakeSupabaseAuth, http: httpx.AsyncClient
) -> None:
    verifier = make_verifier(fake, http)
    await verifier.refresh()
    claims = jwt.decode(fake.mint(uuid.uuid4()), options={"verify_signature": False})
    no_kid = jwt.encode(claims, fake.current.private, algorithm="ES256")
    await rejected(verifier, no_kid)
    es384 = jwt.encode(
        claims,
        ec.generate_private_key(ec.SECP384R1()),
        algorithm="ES384",
        headers={"kid": fake.current.kid},
    )
    await rejected(verifier, es384)
    for garbage in ["", "garbage", "a.b.c", "x" * 5000]:
        await rejected(verifier, garbage)


# --- HS256 ---------------------------------------------------------------------------------


async def test_hs256_is_accepted_only_with_the_legacy_secret(http: httpx.AsyncClient) -> None:
    with serve_fake_supabase_auth(alg="HS256", legacy_secret=LEGACY_SECRET) as fake:
        user = uuid.uuid4()
        token = fake.mint(user)
        assert jwt.get_unverified_header(token)["alg"] == "HS256"

        with_secret = make_verifier(fake, http, legacy_secret=LEGACY_SECRET)
        assert await with_secret.refresh() == {}  # a legacy project publishes no key
        assert (await with_secret.verify(token)).sub == user

        without = make_verifier(fake, http)
        await without.refresh()
        await rejected(without, token)

        other_secret = make_verifier(fake, http, legacy_secret="x" * 40)
        await rejected(other_secret, token)

        # With the secret, the other checks still hold.
        await rejected(with_secret, fake.mint(user, aud="anon"))
        await rejected(with_secret, fake.mint(user, iss="supabase"))
        await rejected(with_secret, fake.mint(user, exp=int(time.time()) - 1), "token_expired")


async def test_the_legacy_secret_does_not_weaken_asymmetric_tokens(
    http: httpx.AsyncClient,
) -> None:
    with serve_fake_supabase_auth(alg="ES256", legacy_secret=LEGACY_SECRET) as fake:
        verifier = make_verifier(fake, http, legacy_secret=LEGACY_SECRET)
        await verifier.refresh()
        user = uuid.uuid4()
        await verifier.verify(fake.mint(user))  # ES256 from the JWKS
        assert fake.legacy is not None
        await verifier.verify(fake.mint(user, key=fake.legacy))  # HS256 with the secret
        impostor = SigningKey(fake.current.kid, "ES256", ec.generate_private_key(ec.SECP256R1()))
        await rejected(verifier, fake.mint(user, key=impostor))


# --- rotation and the cache ----------------------------------------------------------------


async def test_an_unknown_kid_refetches_once_and_accepts_the_rotated_key(
    fake: FakeSupabaseAuth, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    verifier = make_verifier(fake, http, clock=clock)
    await verifier.refresh()
    old = fake.current
    clock.now += 60  # well within the TTL, past the refetch interval
    new = fake.rotate("RS256")
    user = uuid.uuid4()
    claims = await verifier.verify(fake.mint(user))
    assert claims.sub == user
    assert fake.jwks_fetches == 2
    assert set(verifier.keys) == {old.kid, new.kid}
    # Both keys work from the cache now.
    await verifier.verify(fake.mint(user, key=old))
    await verifier.verify(fake.mint(user, key=new))
    assert fake.jwks_fetches == 2


async def test_concurrent_misses_share_one_fetch(
    fake: FakeSupabaseAuth, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    verifier = make_verifier(fake, http, clock=clock)
    await verifier.refresh()
    clock.now += 60
    fake.rotate()
    tokens = [fake.mint(uuid.uuid4()) for _ in range(30)]
    results = await asyncio.gather(*(verifier.verify(t) for t in tokens))
    assert len(results) == 30
    assert fake.jwks_fetches == 2


async def test_a_flood_of_forged_kids_costs_one_fetch_per_interval(
    fake: FakeSupabaseAuth, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    verifier = make_verifier(fake, http, clock=clock, refetch_interval_s=10)
    await verifier.refresh()
    clock.now += 60
    forger = ec.generate_private_key(ec.SECP256R1())

    def forged() -> str:
        return fake.mint(uuid.uuid4(), key=SigningKey(uuid.uuid4().hex, "ES256", forger))

    async def attempt(token: str) -> str:
        try:
            await verifier.verify(token)
        except Unauthorized as exc:
            return exc.code
        return "accepted"

    codes = await asyncio.gather(*(attempt(forged()) for _ in range(100)))
    assert set(codes) == {"invalid_token"}
    assert fake.jwks_fetches == 2  # the start-up fetch, and one for the whole flood
    # More of them within the interval: no fetch at all.
    clock.now += 5
    codes = await asyncio.gather(*(attempt(forged()) for _ in range(100)))
    assert set(codes) == {"invalid_token"}
    assert fake.jwks_fetches == 2
    # Once the interval has passed, one more.
    clock.now += 6
    assert await attempt(forged()) == "invalid_token"
    assert await attempt(forged()) == "invalid_token"
    assert fake.jwks_fetches == 3
    # A genuine rotation right after a flood waits for the interval, then works.
    new = fake.rotate()
    assert await attempt(fake.mint(uuid.uuid4(), key=new)) == "invalid_token"
    clock.now += 11
    assert await attempt(fake.mint(uuid.uuid4(), key=new)) == "accepted"
    assert fake.jwks_fetches == 4


async def test_a_stale_set_is_refreshed_and_a_retired_key_stops_working(
    fake: FakeSupabaseAuth, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    verifier = make_verifier(fake, http, clock=clock, ttl_s=600)
    await verifier.refresh()
    old = fake.current
    fake.rotate()
    fake.retire(old.kid)
    user = uuid.uuid4()
    # Within the TTL the cached key still verifies (Supabase keeps a rotated-out key
    # published for a while anyway).
    clock.now += 300
    await verifier.verify(fake.mint(user, key=old))
    assert fake.jwks_fetches == 1
    # Past the TTL the set is fetched again, and the retired key is gone.
    clock.now += 301
    await rejected(verifier, fake.mint(user, key=old))
    assert fake.jwks_fetches == 2
    assert set(verifier.keys) == {fake.current.kid}


async def test_an_outage_keeps_the_keys_already_known(
    fake: FakeSupabaseAuth, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    verifier = make_verifier(fake, http, clock=clock, ttl_s=600)
    await verifier.refresh()
    user = uuid.uuid4()
    token = fake.mint(user)
    fake.stop()
    clock.now += 3600  # stale, and Supabase unreachable
    assert (await verifier.verify(token)).sub == user
    assert (await verifier.verify(token)).sub == user  # the failed fetch is rate-limited too
    assert verifier.fetches == 2


# --- the key set itself --------------------------------------------------------------------


async def test_refresh_says_why_a_key_set_cannot_be_had(http: httpx.AsyncClient) -> None:
    async def html(request: Any) -> PlainTextResponse:
        return PlainTextResponse("<html>hello</html>")

    async def not_a_set(request: Any) -> PlainTextResponse:
        return PlainTextResponse('{"hello": "world"}', media_type="application/json")

    app = Starlette(
        routes=[Route("/html", html), Route("/json", not_a_set)],
    )
    with serve_app(app) as running:
        cases = {
            "/nothing": "answered 404",
            "/html": "did not answer JSON",
            "/json": "not a JSON Web Key Set",
        }
        for path, message in cases.items():
            verifier = JwksVerifier(jwks_url=running.url + path, issuer="x", http=http)
            with pytest.raises(KeySetUnavailable, match=message):
                await verifier.refresh()
        port = running.url.rsplit(":", 1)[1]
    verifier = JwksVerifier(jwks_url=f"http://127.0.0.1:{port}/x", issuer="x", http=http)
    with pytest.raises(KeySetUnavailable, match="ConnectError"):
        await verifier.refresh()


def test_only_usable_signing_keys_are_taken_from_a_set() -> None:
    good_ec = SigningKey.generate("ES256")
    good_rsa = SigningKey.generate("RS256")
    weak_rsa = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak = {
        **jwt.algorithms.RSAAlgorithm.to_jwk(weak_rsa.public_key(), as_dict=True),
        "kid": "weak",
        "alg": "RS256",
    }
    p384 = {
        **jwt.algorithms.ECAlgorithm.to_jwk(
            ec.generate_private_key(ec.SECP384R1()).public_key(), as_dict=True
        ),
        "kid": "p384",
    }
    document = {
        "keys": [
            good_ec.public_jwk,
            good_rsa.public_jwk,
            {"kty": "oct", "kid": "shared", "k": "c2VjcmV0", "alg": "HS256"},
            {**good_ec.public_jwk, "kid": "mismatch", "alg": "RS256"},
            {**good_ec.public_jwk, "kid": "encryption", "use": "enc"},
            {**good_ec.public_jwk, "kid": "sign-only", "key_ops": ["sign"]},
            {**good_ec.public_jwk, "kid": "broken", "x": "AAAA"},
            {k: v for k, v in good_ec.public_jwk.items() if k != "kid"},
            weak,
            p384,
            "not a key",
        ]
    }
    keys = parse_key_set(document)
    assert set(keys) == {good_ec.kid, good_rsa.kid}
    assert keys[good_ec.kid].alg == "ES256"
    assert keys[good_rsa.kid].alg == "RS256"
    # A private key published by mistake: only its public half is kept.
    leaked = {
        **jwt.algorithms.ECAlgorithm.to_jwk(good_ec.private, as_dict=True),
        "kid": "leaked",
    }
    kept = parse_key_set({"keys": [leaked]})["leaked"]
    assert isinstance(kept.key, ec.EllipticCurvePublicKey)
    assert "d" not in kept.jwk
    for bad in [None, [], {"keys": "x"}, {"nokeys": []}]:
        with pytest.raises(KeySetUnavailable):
            parse_key_set(bad)
