"""`datacanary run` and `datacanary restore` end to end: a project, its prod DuckDB file, a state DB."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from app.cli import main


def _cli(capsys: pytest.CaptureFixture[str], project: Path, *args: str) -> tuple[int, str]:
    code = main(
        [*args, "--env", "prod", "--project", str(project), "--state", str(project / "state.sqlite"), "-q"]
    )
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_run_publishes_then_refuses_the_same_data_then_force_applies(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _cli(capsys, project, "run")
    assert code == 0 and "published     orders v1" in out
    code, out = _cli(capsys, project, "run")
    assert code == 1 and "REFUSED" in out and "already published as v1 by run" in out
    code, out = _cli(capsys, project, "run", "--force", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["forced"] and [d["version"] for d in report["datasets"]] == [2, 2]


def test_restore_switches_the_view_and_refuses_unknown_versions(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli(capsys, project, "run")
    conn = duckdb.connect(str(project / "prod.duckdb"))
    conn.execute("INSERT INTO raw_orders VALUES (99, 1.0, TIMESTAMP '2026-11-25 11:30:00')")
    conn.close()
    assert _cli(capsys, project, "run")[0] == 0
    code, out = _cli(capsys, project, "restore", "orders", "--to", "1")
    assert code == 0 and "now reads v1" in out
    conn = duckdb.connect(str(project / "prod.duckdb"), read_only=True)
    assert conn.execute("SELECT COUNT(*) FROM analytics.orders").fetchone()[0] == 5
    conn.close()
    code, out = _cli(capsys, project, "restore", "orders", "--to", "9")
    assert code == 2
    assert "restorable versions: 1, 2" in out
    # the same input run again after the restore: refused, and the refusal says the restore is why
    code, out = _cli(capsys, project, "run")
    assert code == 1 and "already published as v2 by run" in out
    assert "since restored to v1: applying it again would publish what the restore took away" in out


def test_run_builds_the_artifact_live_in_the_environment_not_the_working_tree(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.promotion.artifact import build_artifact, to_tar
    from app.promotion.ledger import Ledger
    from app.promotion.store import ArtifactStore
    from app.state import StateDB

    files = {
        p.relative_to(project).as_posix(): p.read_bytes()
        for p in project.rglob("*")
        if p.is_file() and p.suffix in (".yml", ".yaml", ".sql")
    }
    artifact = build_artifact("shop", files, {}, "test")
    ArtifactStore(project / "artifacts").put(artifact.digest, to_tar(artifact))
    Ledger(StateDB(project / "state.sqlite")).record(
        digest=artifact.digest,
        environment="prod",
        at="2026-11-25T00:00:00Z",
        actor="ci",
        passed=True,
        canary={},
    )
    # the working tree moves on after the promotion; the environment keeps running what was promoted
    (project / "models" / "revenue.sql").write_text("select 1 as total\n")
    code, out = _cli(capsys, project, "run", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["artifact"] == artifact.digest
    conn = duckdb.connect(str(project / "prod.duckdb"), read_only=True)
    assert conn.execute("SELECT SUM(total) FROM analytics.revenue").fetchone()[0] == 50
    conn.close()


def test_a_missing_environment_database_is_an_error_not_a_new_empty_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "prod.duckdb").unlink()
    code, out = _cli(capsys, project, "run")
    assert code == 2 and "prod.duckdb does not exist" in out
    assert not (project / "prod.duckdb").exists()


def test_a_schema_named_like_the_database_file_runs_restores_and_reads_back(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/promotion.md's layout: schema `prod` in prod.duckdb, whose catalog DuckDB also names `prod`
    config = project / "datacanary.yml"
    config.write_text(config.read_text().replace("schema: analytics", "schema: prod"))
    code, out = _cli(capsys, project, "run")
    assert code == 0 and "published     orders v1" in out, out
    conn = duckdb.connect(str(project / "prod.duckdb"))
    conn.execute("INSERT INTO raw_orders VALUES (99, 1.0, TIMESTAMP '2026-11-25 11:30:00')")
    conn.close()
    code, out = _cli(capsys, project, "run")
    assert code == 0 and "published     orders v2" in out, out
    assert _cli(capsys, project, "restore", "orders", "--to", "1")[0] == 0
    conn = duckdb.connect(str(project / "prod.duckdb"), read_only=True)  # opened directly: catalog `prod`
    assert conn.execute("SELECT COUNT(*) FROM prod.prod.orders").fetchone()[0] == 5
    conn.close()


def test_a_schema_named_like_the_attach_alias_is_a_config_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "datacanary.yml"
    config.write_text(config.read_text().replace("schema: analytics", "schema: datacanary_env"))
    code, out = _cli(capsys, project, "run")
    assert code == 2 and "the name datacanary attaches the database as" in out
