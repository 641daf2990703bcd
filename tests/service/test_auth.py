"""GitHub App auth: the RS256 JWT's claims, installation tokens minted and cached until 5 minutes
before they expire, and refusals turned into GitHubError."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from app.errors import GitHubError
from app.github.auth import AppAuth
from app.github.port import GitHubHttpError

NOW = 1_700_000_000.0
API = "https://ghe.example.com/api/v3"


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _public_key(pem: str) -> Any:
    return load_pem_private_key(pem.encode(), password=None).public_key()


def test_jwt_is_rs256_backdated_and_short_lived(private_key_pem: str) -> None:
    auth = AppAuth(42, private_key_pem, API, clock=Clock())
    token = auth.jwt()
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(
        token, _public_key(private_key_pem), algorithms=["RS256"], options={"verify_exp": False}
    )
    assert claims == {"iss": "42", "iat": int(NOW) - 60, "exp": int(NOW) + 540}
    assert claims["exp"] - claims["iat"] <= 600  # GitHub refuses JWTs living longer than 10 minutes


def test_installation_token_is_minted_through_the_openapi_checked_stub(
    private_key_pem: str, github_stub: Any
) -> None:
    auth = AppAuth(42, private_key_pem, github_stub.base_url, clock=Clock())
    token = auth.installation_token(7)
    assert token.startswith("ghs_stub7")
    calls = github_stub.calls_to("POST", "/app/installations/{installation_id}/access_tokens")
    assert len(calls) == 1 and github_stub.installation_tokens == [7]


def test_installation_token_on_ghes_goes_under_api_v3(private_key_pem: str, github_stub: Any) -> None:
    auth = AppAuth(42, private_key_pem, github_stub.ghes_base_url, clock=Clock())
    auth.installation_token(8)
    assert github_stub.installation_tokens == [8]


@pytest.fixture
def gh() -> respx.MockRouter:
    """GitHub's token endpoint as a respx router behind an injected transport: no global patching of
    httpx, which would race with the loopback servers other tests leave winding down in threads."""
    return respx.MockRouter(assert_all_called=False)


def _transport(router: respx.MockRouter) -> httpx.MockTransport:
    return httpx.MockTransport(router.handler)


def test_token_is_cached_until_five_minutes_before_expiry(private_key_pem: str, gh: respx.MockRouter) -> None:
    clock = Clock()
    expires = "2023-11-14T23:13:20Z"  # NOW + 3600 s
    route = gh.post(f"{API}/app/installations/7/access_tokens").mock(
        side_effect=[
            httpx.Response(201, json={"token": "first", "expires_at": expires}),
            httpx.Response(201, json={"token": "second", "expires_at": "2023-11-15T00:13:20Z"}),
        ]
    )
    auth = AppAuth(42, private_key_pem, API, clock=clock, transport=_transport(gh))
    assert auth.installation_token(7) == "first"
    clock.now = NOW + 3600 - 301
    assert auth.installation_token(7) == "first" and route.call_count == 1
    clock.now = NOW + 3600 - 300
    assert auth.installation_token(7) == "second" and route.call_count == 2
    sent = route.calls[0].request
    assert sent.headers["authorization"].startswith("Bearer ")
    assert sent.headers["accept"] == "application/vnd.github+json"


def test_tokens_are_cached_per_installation(private_key_pem: str, gh: respx.MockRouter) -> None:
    gh.post(f"{API}/app/installations/1/access_tokens").mock(
        return_value=httpx.Response(201, json={"token": "one", "expires_at": "2099-01-01T00:00:00Z"})
    )
    gh.post(f"{API}/app/installations/2/access_tokens").mock(
        return_value=httpx.Response(201, json={"token": "two", "expires_at": "2099-01-01T00:00:00Z"})
    )
    auth = AppAuth(42, private_key_pem, API, clock=Clock(), transport=_transport(gh))
    assert [auth.installation_token(i) for i in (1, 2, 1, 2)] == ["one", "two", "one", "two"]
    assert gh.calls.call_count == 2


def test_refused_token_is_a_github_error_with_a_hint(private_key_pem: str, gh: respx.MockRouter) -> None:
    gh.post(f"{API}/app/installations/7/access_tokens").mock(
        return_value=httpx.Response(401, json={"message": "A JSON web token could not be decoded"})
    )
    auth = AppAuth(42, private_key_pem, API, clock=Clock(), transport=_transport(gh))
    with pytest.raises(GitHubHttpError, match="401.*could not be decoded") as info:
        auth.installation_token(7)
    assert info.value.hint and "GITHUB_APP_ID" in info.value.hint
    assert not info.value.transient  # a worker gives up instead of retrying


def test_github_outage_while_minting_is_transient(private_key_pem: str, gh: respx.MockRouter) -> None:
    gh.post(f"{API}/app/installations/7/access_tokens").mock(
        return_value=httpx.Response(502, text="bad gateway")
    )
    with pytest.raises(GitHubHttpError) as info:
        AppAuth(42, private_key_pem, API, clock=Clock(), transport=_transport(gh)).installation_token(7)
    assert info.value.transient and info.value.status == 502


def test_unreachable_github_is_a_github_error(private_key_pem: str, gh: respx.MockRouter) -> None:
    gh.post(f"{API}/app/installations/7/access_tokens").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(GitHubError, match="cannot reach GitHub"):
        AppAuth(42, private_key_pem, API, clock=Clock(), transport=_transport(gh)).installation_token(7)
