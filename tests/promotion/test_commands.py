"""The CLI fronts: exit codes 0 / 1 / 2, output, and byte-for-byte reproducible builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from tests.support.fixtures import github_stub  # noqa: F401

from .conftest import CONFIG, write_env_data, write_project


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _build(capsys, root: Path, out: Path, *extra: str) -> tuple[bytes, str]:
    code, text, _ = _run(capsys, "artifact", "build", "--project", str(root), "--out", str(out), *extra)
    assert code == 0
    return out.read_bytes(), text.strip().splitlines()[-1]


def test_two_builds_in_different_directories_give_the_same_bytes_and_digest(tmp_path, capsys, monkeypatch):
    one = write_project(tmp_path / "a" / "shop")
    two = write_project(tmp_path / "elsewhere" / "deeper" / "shop")
    # different file times and an unrelated file must not matter
    (two / "models" / "fct_orders.sql").touch()
    (two / "data").mkdir()
    (two / "data" / "prod.duckdb").write_bytes(b"not part of the artifact")
    bytes1, digest1 = _build(capsys, one, tmp_path / "1.tar")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    bytes2, digest2 = _build(capsys, two, tmp_path / "2.tar")
    assert digest1.startswith("sha256:") and digest1 == digest2
    assert bytes1 == bytes2
    gz1, _ = _build(capsys, one, tmp_path / "1.tar.gz", "--gzip")
    gz2, _ = _build(capsys, two, tmp_path / "2.tar.gz", "--gzip")
    assert gz1 == gz2


def test_default_output_is_dist_name_digest12(tmp_path, capsys, monkeypatch):
    root = write_project(tmp_path / "shop")
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "artifact", "build", "--project", str(root), "--format", "json")
    body = json.loads(out)
    assert code == 0 and body["path"] == f"dist/shop-{body['digest'][7:19]}.tar"
    assert (tmp_path / body["path"]).is_file()


def test_verify_exit_codes(tmp_path, capsys):
    root = write_project(tmp_path / "shop")
    data, digest = _build(capsys, root, tmp_path / "a.tar")
    assert _run(capsys, "artifact", "verify", str(tmp_path / "a.tar"))[0] == 0
    assert _run(capsys, "artifact", "verify", str(tmp_path / "a.tar"), "--digest", digest)[0] == 0
    code, out, _ = _run(
        capsys, "artifact", "verify", str(tmp_path / "a.tar"), "--digest", "sha256:" + "0" * 64
    )
    assert code == 1 and "not the expected" in out
    (tmp_path / "cut.tar").write_bytes(data[:3000])
    code, out, _ = _run(capsys, "artifact", "verify", str(tmp_path / "cut.tar"))
    assert code == 1 and "REFUSED" in out and "truncated" in out
    at = data.index(b"select o.order_id")
    (tmp_path / "bad.tar").write_bytes(data[:at] + b"S" + data[at + 1 :])
    code, out, _ = _run(capsys, "artifact", "verify", str(tmp_path / "bad.tar"), "--format", "json")
    assert code == 1 and json.loads(out)["problems"][0]["path"] == "project/models/fct_orders.sql"
    (tmp_path / "junk.tar").write_bytes(b"x" * 2000)
    code, _, err = _run(capsys, "artifact", "verify", str(tmp_path / "junk.tar"))
    assert code == 2 and "not a tar archive" in err
    code, _, err = _run(capsys, "artifact", "verify", str(tmp_path / "missing.tar"))
    assert code == 2 and "cannot read artifact" in err


def test_build_of_a_broken_project_exits_2_with_the_file_and_line(tmp_path, capsys):
    root = write_project(tmp_path / "shop")
    (root / "models" / "fct_orders.sql").write_text("select from from\n")
    code, _, err = _run(capsys, "artifact", "build", "--project", str(root), "--out", str(tmp_path / "x.tar"))
    assert code == 2 and "models/fct_orders.sql" in err and "Traceback" not in err


def test_parity_command(tmp_path, capsys):
    root = write_project(tmp_path / "ok")
    code, out, _ = _run(capsys, "parity", "--from", "staging", "--to", "prod", "--project", str(root))
    assert code == 0 and "parity staging -> prod: ok" in out
    bad = write_project(tmp_path / "bad", config=CONFIG + "    overrides:\n      dialect: snowflake\n")
    code, out, _ = _run(capsys, "parity", "--from", "staging", "--to", "prod", "--project", str(bad))
    assert code == 1 and "VIOLATION dialect (changed)" in out and "datacanary.yml:" in out
    code, out, _ = _run(
        capsys, "parity", "--from", "staging", "--to", "prod", "--project", str(bad), "--format", "json"
    )
    assert json.loads(out)["ok"] is False
    code, _, err = _run(capsys, "parity", "--from", "staging", "--to", "qa", "--project", str(root))
    assert code == 2 and "unknown environment 'qa'" in err
    # at the `environments:` line, where the declared ones are
    line = (root / "datacanary.yml").read_text().splitlines().index("environments:") + 1
    assert f"datacanary.yml:{line}: unknown environment 'qa'" in err
    code, _, err = _run(capsys, "parity", "--from", "stagin", "--to", "prod", "--project", str(root))
    assert (
        code == 2 and f"datacanary.yml:{line}: unknown environment 'stagin' (did you mean 'staging'?)" in err
    )


def test_promote_and_rollback_commands(tmp_path, capsys, monkeypatch):
    root = write_project(tmp_path / "shop")
    for env in ("dev", "staging", "prod"):
        write_env_data(root / "data" / f"{env}.duckdb")
    state = str(tmp_path / "state" / "db.sqlite")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    _, first = _build(capsys, root, tmp_path / "1.tar")
    base = ("--project", str(root), "--state", state, "--actor", "bob", "-q")
    code, out, _ = _run(capsys, "promote", "--artifact", str(tmp_path / "1.tar"), "--to", "staging", *base)
    assert code == 1 and "has not passed dev" in out
    assert _run(capsys, "promote", "--artifact", str(tmp_path / "1.tar"), "--to", "dev", *base)[0] == 0
    code, out, _ = _run(capsys, "promote", "--artifact", str(tmp_path / "1.tar"), "--to", "dev", *base)
    assert code == 0 and out.startswith("no-op:")
    (root / "models" / "marts" / "revenue.sql").write_text(
        "select country, sum(amount) as revenue from fct_orders group by country\n"
    )
    _build(capsys, root, tmp_path / "2.tar")
    code, out, _ = _run(
        capsys, "promote", "--artifact", str(tmp_path / "2.tar"), "--to", "dev", *base, "--format", "json"
    )
    assert code == 0 and json.loads(out)["ledger_entry"]["status"] == "live"
    code, out, _ = _run(capsys, "rollback", "--env", "dev", *base)
    assert code == 0 and f"rolled back {first} to dev (was sha256:" in out
    code, out, _ = _run(capsys, "rollback", "--env", "dev", *base, "--format", "markdown")
    assert code == 1 and "refused" in out and "no earlier good digest" in out
    assert (tmp_path / "state" / "artifacts" / "sha256" / f"{first[7:]}.tar").is_file()


def test_promote_inside_github_actions_records_a_deployment(tmp_path, capsys, monkeypatch, github_stub):
    root = write_project(tmp_path / "shop")
    write_env_data(root / "data" / "dev.duckdb")
    _, digest = _build(capsys, root, tmp_path / "1.tar")
    for key, value in {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/warehouse",
        "GITHUB_TOKEN": "t",
        "GITHUB_API_URL": github_stub.base_url,
        "GITHUB_SHA": "2" * 40,
        "GITHUB_RUN_ID": "9",
        "DATACANARY_GITHUB_THROTTLE": "off",
    }.items():
        monkeypatch.setenv(key, value)
    state = str(tmp_path / "state" / "db.sqlite")
    args = (
        "promote",
        "--artifact",
        str(tmp_path / "1.tar"),
        "--to",
        "dev",
        "--project",
        str(root),
        "--state",
        state,
    )
    assert _run(capsys, *args, "-q")[0] == 0
    (deployment,) = github_stub.deployments.values()
    assert deployment["payload"]["digest"] == digest and deployment["ref"] == "2" * 40
    assert deployment["payload"]["environments"] == ["dev", "staging", "prod"]
    assert github_stub.deployment_statuses[deployment["id"]][0]["state"] == "success"


def test_dry_run_decides_without_running_or_recording(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    root = write_project(tmp_path / "shop")  # no environment data at all: a dry run does not need it
    _, digest = _build(capsys, root, tmp_path / "1.tar")
    base = (
        "--artifact",
        str(tmp_path / "1.tar"),
        "--project",
        str(root),
        "--state",
        str(tmp_path / "s.sqlite"),
    )
    code, out, _ = _run(capsys, "promote", *base, "--to", "dev", "--dry-run", "-q")
    assert code == 0 and out.startswith(f"would promote {digest} to dev")
    code, out, _ = _run(capsys, "promote", *base, "--to", "staging", "--dry-run", "-q", "--format", "json")
    assert code == 1 and json.loads(out)["dry_run"] is True and json.loads(out)["ledger_entry"] is None
    from app.promotion.ledger import Ledger
    from app.state import StateDB

    db = StateDB(tmp_path / "s.sqlite")
    assert Ledger(db).history() == []
    db.close()


def test_build_from_a_git_revision_ignores_uncommitted_edits(tmp_path, capsys):
    import subprocess

    repo = tmp_path / "repo"
    root = write_project(repo / "warehouse")
    clean, digest = _build(capsys, root, tmp_path / "clean.tar")
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "release"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    (root / "models" / "fct_orders.sql").write_text("select 1 as uncommitted\n")
    from_rev, rev_digest = _build(capsys, root, tmp_path / "rev.tar", "--rev", "HEAD")
    assert (from_rev, rev_digest) == (clean, digest)
    code, _, err = _run(
        capsys, "artifact", "build", "--project", str(root), "--rev", "nope", "--out", str(tmp_path / "x")
    )
    assert code == 2 and "unknown git revision 'nope'" in err


def test_force_without_a_reason_is_a_usage_error(tmp_path, capsys):
    code, _, err = _run(capsys, "promote", "--artifact", str(tmp_path / "x.tar"), "--to", "dev", "--force")
    assert code == 2 and "--force needs --reason" in err and "Traceback" not in err


def test_a_windowed_model_passes_the_promotion_canary_built_whole(tmp_path, capsys, monkeypatch):
    """docs/backfill.md: the canary builds a windowed model over every window, as a full run does; the
    promotion canary left its :window_start/:window_end unbound, so no windowed project could be promoted."""
    import subprocess

    import duckdb

    from app.demo import build_demo_repo

    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    demo = build_demo_repo(tmp_path / "shop")
    root = demo.path
    subprocess.run(["git", "-C", str(root), "checkout", "-q", demo.base], check=True)  # the head's bug aside
    (root / "datacanary.yml").write_text(
        (root / "datacanary.yml").read_text()
        + "parameters:\n  schema: analytics\n  data: null\n  sample_fraction: 1.0\n"
        + "environments:\n  dev:\n    parameters: {schema: dev, data: data/dev.duckdb}\n"
        + "windows:\n  fct_orders:\n    column: ordered_at\n"
    )
    orders = root / "models" / "marts" / "fct_orders.sql"
    orders.write_text(
        orders.read_text().rstrip() + "\nwhere o.ordered_at >= :window_start and o.ordered_at < :window_end\n"
    )
    with duckdb.connect(str(root / "data" / "dev.duckdb")) as con:
        for t in ("raw_customers", "raw_orders", "raw_payments"):
            con.execute(f"CREATE TABLE {t} AS SELECT * FROM read_csv_auto('{root / 'data' / (t + '.csv')}')")
    _build(capsys, root, tmp_path / "a.tar")
    code, out, err = _run(
        capsys,
        "promote",
        "--artifact",
        str(tmp_path / "a.tar"),
        "--to",
        "dev",
        "--project",
        str(root),
        "--state",
        str(tmp_path / "state.sqlite"),
        "--actor",
        "me",
    )
    assert code == 0, out + err  # was: fct_orders FAILED, values were not provided for window_start
    assert "fct_orders" in out and "FAILED" not in out


@pytest.mark.parametrize("damage", ["deleted", "overwritten"])
def test_promoting_the_live_artifact_again_puts_it_back_in_a_store_that_lost_it(
    tmp_path, capsys, monkeypatch, damage
):
    # `run` reads the live artifact from the store, and when the store lost it says "promote it
    # again": that promotion is a no-op (already live), and it must still put the artifact back
    root = write_project(tmp_path / "shop")
    write_env_data(root / "data" / "dev.duckdb")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    _, digest = _build(capsys, root, tmp_path / "1.tar")
    state = str(tmp_path / "state" / "db.sqlite")
    base = ("--project", str(root), "--state", state, "-q")
    assert _run(capsys, "promote", "--artifact", str(tmp_path / "1.tar"), "--to", "dev", *base)[0] == 0
    stored = tmp_path / "state" / "artifacts" / "sha256" / f"{digest[7:]}.tar"
    if damage == "deleted":
        stored.unlink()
    else:
        stored.write_bytes(b"\0" * 2048)
    code, _, err = _run(capsys, "run", "--env", "dev", *base)
    assert code == 2 and "promote" in err
    code, out, _ = _run(capsys, "promote", "--artifact", str(tmp_path / "1.tar"), "--to", "dev", *base)
    assert code == 0 and out.startswith("no-op:")
    code, out, err = _run(capsys, "run", "--env", "dev", *base)
    assert code == 0, out + err
    assert stored.read_bytes() == (tmp_path / "1.tar").read_bytes()
