"""The dashboard over real HTTP: the OAuth login, the pages of a gated pull request, and access: a
user sees only the repositories GitHub says they can read, and everything else is a 404."""

from __future__ import annotations

import httpx

from tests.dashboard.conftest import OTHER, PR, REPO, Dash


def test_pages_need_a_github_login(dash: Dash) -> None:
    page = httpx.get(f"{dash.url}/dashboard/{REPO}")
    assert page.status_code == 302 and page.headers["location"] == f"/login?next=/dashboard/{REPO}"
    assert httpx.get(f"{dash.url}/dashboard/api/{REPO}/results").status_code == 401
    to_github = httpx.get(f"{dash.url}/login")
    assert to_github.headers["location"].startswith(f"{dash.stub.base_url}/login/oauth/authorize?client_id=")
    cookie = to_github.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie  # http here


def test_a_callback_with_a_forged_state_is_refused(dash: Dash) -> None:
    client = httpx.Client(base_url=dash.url)
    client.get("/login")
    refused = client.get("/callback", params={"code": "x", "state": "not-the-one-we-sent"})
    assert refused.status_code == 400 and "not started here" in refused.text
    assert client.get("/dashboard").status_code == 302  # still not logged in


def test_a_gated_pull_request_is_browsable(dash: Dash) -> None:
    alice = dash.login("alice")
    repo = alice.get(f"/dashboard/{REPO}")
    assert repo.status_code == 200
    assert f"/dashboard/{REPO}/pull/{PR}/{dash.head}" in repo.text
    assert f"{dash.stub.base_url}/{REPO}/runs/" in repo.text  # links to the check runs it posted
    results = alice.get(f"/dashboard/api/{REPO}/results").json()["results"]
    assert [r["verdict"] for r in results] == ["fail"] and {c["name"] for c in results[0]["check_runs"]} >= {
        "datacanary / contracts",
        "datacanary / canary",
    }
    report = alice.get(results[0]["report"]).json()
    assert report["head"] == dash.head[:7] or report["head"].startswith(dash.head[:7])
    model = alice.get(f"/dashboard/{REPO}/pull/{PR}/{dash.head[:7]}/models/fct_orders")
    assert model.status_code == 200 and "ordered_at" in model.text and "Example rows" in model.text
    env = alice.get(f"/dashboard/{REPO}/envs/prod")
    assert env.status_code == 200 and "burn-chart" in env.text and "#42" in env.text
    assert "revenue doubled" in env.text  # the rollback in the promotion ledger
    health = env.text[env.text.index('id="health-orders"') :]
    assert "volume-chart" in health and "12 profiles stored" in health
    assert "→ VARCHAR</span>" in health  # the retyped column, from the schema check
    assert "shifted since" in health and "status" in health  # the renamed category, from the PSI
    runs = alice.get(f"/dashboard/{REPO}/envs/prod/runs")
    assert (
        runs.status_code == 200 and "daily_revenue__v2" not in runs.text and "not_null(order_id)" in runs.text
    )
    backfill = runs.text[runs.text.index('id="backfills"') :]
    assert "late refunds" in backfill and "carol" in backfill and "2026-12-01..2026-12-02" in backfill


def test_nobody_sees_another_installations_repository(dash: Dash) -> None:
    alice, bob = dash.login("alice"), dash.login("bob")
    assert OTHER not in alice.get("/dashboard").text and REPO in alice.get("/dashboard").text
    guessed = [
        f"/dashboard/{OTHER}",
        f"/dashboard/{OTHER}/pull/{PR}/{dash.head}",
        f"/dashboard/{OTHER}/pull/{PR}/{dash.head}/models/fct_orders",
        f"/dashboard/{OTHER}/envs/staging",
        f"/dashboard/{OTHER}/envs/staging/runs",
        f"/dashboard/api/{OTHER}/results",
        f"/dashboard/api/{OTHER}/pull/{PR}/{dash.head}/report.json",
        f"/dashboard/{REPO}/envs/staging",  # the other repository's environment under one's own
        f"/dashboard/{REPO}/envs/staging/runs",
    ]
    for path in guessed:
        assert alice.get(path).status_code == 404, path
        assert (
            bob.get(
                path.replace(OTHER, "X").replace(REPO, OTHER).replace("X", REPO).replace("staging", "prod")
            ).status_code
            == 404
        ), path
    assert bob.get(f"/dashboard/{OTHER}/envs/staging").status_code == 200
    # what a user reads is what GitHub says now (after the short cache): access taken away is gone
    dash.stub.user_access["alice"] = {}
    dash.server.app.state.dashboard.sessions._ttl = 0  # the cache is what a test cannot wait for
    assert alice.get(f"/dashboard/{REPO}").status_code == 404


def test_logout_ends_the_session(dash: Dash) -> None:
    alice = dash.login("alice")
    cookie = alice.cookies.get("datacanary_session")
    assert alice.post("/logout").status_code == 303
    replay = httpx.get(f"{dash.url}/dashboard", cookies={"datacanary_session": cookie or ""})
    assert replay.status_code == 302  # the old cookie names a closed session
