"""`POST /webhooks` over real HTTP (uvicorn on a loopback port): signatures, size cap, malformed and
unknown input, ping, and redeliveries processed once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.service.app import create_app
from app.service.dispatch import Router
from tests.service.conftest import ServiceServer, load_payload
from tests.support.signing import signature, signed_delivery


def _no_github(installation: int | None, repo: str) -> Any:
    raise AssertionError("these tests must not reach GitHub")


def _counting_router(seen: list[str]) -> Router:
    router = Router()
    lock = threading.Lock()

    @router.register("pull_request", "opened")
    def opened(event: Any, ctx: Any) -> None:
        with lock:
            seen.append(ctx.delivery_id)

    return router


@pytest.fixture
def service(
    make_settings: Callable[..., Any], serve: Callable[[Any], ServiceServer]
) -> tuple[ServiceServer, list[str]]:
    seen: list[str] = []
    app = create_app(
        make_settings(max_body=64 * 1024),
        github=_no_github,
        repo_checkout=lambda *a: (_ for _ in ()).throw(AssertionError("no checkout")),
        router=_counting_router(seen),
    )
    return serve(app), seen


def _post(server: ServiceServer, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.url}/webhooks", content=body, headers=headers, timeout=10)


def test_signed_delivery_is_queued_with_202_and_processed(service: tuple[ServiceServer, list[str]]) -> None:
    server, seen = service
    body, headers = signed_delivery("pull_request", load_payload("pull_request.opened"), delivery="d-1")
    response = _post(server, body, headers)
    assert response.status_code == 202
    assert response.json() == {"status": "queued", "delivery": "d-1"}
    server.wait_idle()
    assert seen == ["d-1"]
    assert server.service.inbox.get("d-1")["outcome"] == "done"


def test_form_encoded_delivery_is_queued_and_processed(service: tuple[ServiceServer, list[str]]) -> None:
    # a webhook set to content type application/x-www-form-urlencoded: GitHub sends payload=<JSON>
    # and signs that form body
    import json
    from urllib.parse import urlencode

    server, seen = service
    form = urlencode({"payload": json.dumps(load_payload("pull_request.opened"))}).encode()
    _, headers = signed_delivery("pull_request", form, delivery="form-1")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = _post(server, form, headers)
    assert response.status_code == 202, response.text
    server.wait_idle()
    assert seen == ["form-1"]
    assert server.service.inbox.get("form-1")["outcome"] == "done"


def test_form_encoded_body_without_a_payload_field_is_400(service: tuple[ServiceServer, list[str]]) -> None:
    server, _ = service
    _, headers = signed_delivery("pull_request", b"action=opened", delivery="form-2")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = _post(server, b"action=opened", headers)
    assert response.status_code == 400
    assert response.json()["error"] == "form-encoded body has no `payload` field"
    assert server.service.inbox.get("form-2") is None


@pytest.mark.parametrize(
    "header",
    [None, "sha256=" + "0" * 64, "sha1=abc", signature(b"another body")],
    ids=["missing", "zeros", "sha1", "other-body"],
)
def test_unsigned_or_forged_delivery_is_401_and_not_stored(
    service: tuple[ServiceServer, list[str]], header: str | None
) -> None:
    server, seen = service
    body, headers = signed_delivery("pull_request", load_payload("pull_request.opened"), delivery="forged")
    del headers["X-Hub-Signature-256"]
    if header is not None:
        headers["X-Hub-Signature-256"] = header
    response = _post(server, body, headers)
    assert response.status_code == 401
    assert server.service.inbox.get("forged") is None and seen == []


def test_signature_with_another_secret_is_401(service: tuple[ServiceServer, list[str]]) -> None:
    server, _ = service
    body, headers = signed_delivery("ping", load_payload("ping.event"), secret="not-our-secret")
    assert _post(server, body, headers).status_code == 401


def test_body_over_the_cap_is_413_by_content_length(service: tuple[ServiceServer, list[str]]) -> None:
    server, _ = service
    body, headers = signed_delivery("pull_request", b"x" * (64 * 1024 + 1))
    assert _post(server, body, headers).status_code == 413


def test_streamed_body_over_the_cap_is_413_without_content_length(
    service: tuple[ServiceServer, list[str]],
) -> None:
    server, _ = service
    _, headers = signed_delivery("pull_request", b"{}")

    def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 8192  # 160 KiB, chunked: no Content-Length to refuse on

    response = httpx.post(f"{server.url}/webhooks", content=chunks(), headers=headers, timeout=10)
    assert response.status_code == 413


@pytest.mark.parametrize("raw", [b'{"action": "opened",', b'{"a": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"])
def test_malformed_json_is_400(service: tuple[ServiceServer, list[str]], raw: bytes) -> None:
    server, _ = service  # the second: arrays nested past the JSON decoder's recursion limit
    body, headers = signed_delivery("pull_request", raw)
    response = _post(server, body, headers)
    assert response.status_code == 400
    assert "not JSON" in response.json()["error"]


def test_payload_missing_a_needed_field_is_400_naming_it(service: tuple[ServiceServer, list[str]]) -> None:
    server, seen = service
    payload = load_payload("pull_request.opened")
    del payload["pull_request"]["head"]["sha"]
    body, headers = signed_delivery("pull_request", payload, delivery="no-head")
    response = _post(server, body, headers)
    assert response.status_code == 400
    assert "pull_request.head.sha" in response.json()["error"]
    assert server.service.inbox.get("no-head") is None


def test_unknown_event_is_422_with_a_clear_message(service: tuple[ServiceServer, list[str]]) -> None:
    server, _ = service
    body, headers = signed_delivery("star", {"action": "created"})
    response = _post(server, body, headers)
    assert response.status_code == 422
    assert "'star'" in response.json()["error"]


def test_ping_is_200(service: tuple[ServiceServer, list[str]]) -> None:
    server, _ = service
    body, headers = signed_delivery("ping", load_payload("ping.event"))
    response = _post(server, body, headers)
    assert response.status_code == 200 and response.json()["status"] == "pong"


def test_known_but_unused_event_is_200_ignored(service: tuple[ServiceServer, list[str]]) -> None:
    server, _ = service
    body, headers = signed_delivery("push", load_payload("push.event"))
    response = _post(server, body, headers)
    assert response.status_code == 200 and response.json()["status"] == "ignored"


def test_unhandled_action_is_200_ignored(service: tuple[ServiceServer, list[str]]) -> None:
    server, seen = service
    body, headers = signed_delivery("pull_request", load_payload("pull_request.closed"), delivery="closed")
    response = _post(server, body, headers)
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert server.service.inbox.get("closed") is None


def test_redelivery_is_answered_duplicate_and_processed_once(
    service: tuple[ServiceServer, list[str]],
) -> None:
    server, seen = service
    body, headers = signed_delivery("pull_request", load_payload("pull_request.opened"), delivery="again")
    first = _post(server, body, headers)
    second = _post(server, body, headers)
    server.wait_idle()
    third = _post(server, body, headers)
    assert first.status_code == 202
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert third.json()["status"] == "duplicate"
    assert seen == ["again"]


def test_redelivery_of_a_given_up_delivery_runs_it_again(
    make_settings: Callable[..., Any], serve: Callable[[Any], ServiceServer]
) -> None:
    # GitHub's "Redeliver" button is how an operator retries a delivery that failed for good (here: the
    # installation token was refused until the app's permissions were fixed)
    from app.errors import GitHubError

    seen: list[str] = []
    router = Router()

    @router.register("pull_request", "opened")
    def opened(event: Any, ctx: Any) -> None:
        seen.append(ctx.delivery_id)
        if len(seen) == 1:
            raise GitHubError("GitHub refused an installation token for installation 1")

    server = serve(
        create_app(make_settings(), github=_no_github, repo_checkout=lambda *a: None, router=router)
    )
    body, headers = signed_delivery("pull_request", load_payload("pull_request.opened"), delivery="fix-me")
    assert _post(server, body, headers).status_code == 202
    server.wait_idle()
    assert server.service.inbox.get("fix-me")["outcome"] == "error"
    again = _post(server, body, headers)
    assert again.status_code == 202 and again.json() == {"status": "queued", "delivery": "fix-me"}
    server.wait_idle()
    assert seen == ["fix-me", "fix-me"]
    assert server.service.inbox.get("fix-me")["outcome"] == "done"
    assert _post(server, body, headers).json()["status"] == "duplicate"  # done: never again
    assert seen == ["fix-me", "fix-me"]


def test_concurrent_redeliveries_are_processed_once(service: tuple[ServiceServer, list[str]]) -> None:
    server, seen = service
    body, headers = signed_delivery("pull_request", load_payload("pull_request.opened"), delivery="race")
    codes: list[int] = []

    def post() -> None:
        codes.append(_post(server, body, headers).status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    server.wait_idle()
    assert sorted(codes) == [200] * 7 + [202]
    assert seen == ["race"]


def test_healthz_and_metrics(service: tuple[ServiceServer, list[str]]) -> None:
    server, _ = service
    body, headers = signed_delivery("pull_request", load_payload("pull_request.opened"), delivery="m-1")
    _post(server, body, headers)
    _post(server, b"{}", {**headers, "X-Hub-Signature-256": "sha256=00"})
    server.wait_idle()
    health = httpx.get(f"{server.url}/healthz").json()
    assert health == {"status": "ok", "queue_depth": 0, "workers": 1}
    metrics = httpx.get(f"{server.url}/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'datacanary_deliveries_total{event="pull_request",outcome="done"} 1.0' in text
    assert 'datacanary_webhooks_received_total{event="pull_request",status="202"} 1.0' in text
    assert 'datacanary_webhooks_received_total{event="pull_request",status="401"} 1.0' in text
    assert "datacanary_queue_depth 0.0" in text
    assert "datacanary_delivery_processing_seconds_count" in text


def test_two_apps_in_one_process_keep_separate_metrics(
    make_settings: Callable[..., Any], serve: Callable[[Any], ServiceServer], tmp_path: Any
) -> None:
    first = serve(create_app(make_settings(workers=0), github=_no_github, repo_checkout=lambda *a: tmp_path))
    second = serve(
        create_app(
            make_settings(workers=0, state=tmp_path / "other.sqlite"),
            github=_no_github,
            repo_checkout=lambda *a: tmp_path,
        )
    )
    body, headers = signed_delivery("ping", load_payload("ping.event"))
    _post(first, body, headers)
    assert 'status="200"} 1.0' in httpx.get(f"{first.url}/metrics").text
    assert 'status="200"}' not in httpx.get(f"{second.url}/metrics").text


def test_unknown_event_names_do_not_grow_the_metrics(service: tuple[ServiceServer, list[str]]) -> None:
    server, _ = service
    for i in range(3):
        body, headers = signed_delivery(f"made-up-{i}", {"action": "x"}, secret="forged")
        assert _post(server, body, headers).status_code == 401
    text = httpx.get(f"{server.url}/metrics").text
    assert "made-up" not in text
    assert 'datacanary_webhooks_received_total{event="other",status="401"} 3.0' in text


def test_healthz_is_503_when_the_state_database_fails(service: tuple[ServiceServer, list[str]]) -> None:
    import sqlite3

    server, _ = service

    def broken() -> int:
        raise sqlite3.OperationalError("disk I/O error")

    server.service.inbox.depth = broken
    response = httpx.get(f"{server.url}/healthz")
    assert response.status_code == 503 and "disk I/O error" in response.json()["error"]
