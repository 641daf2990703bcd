"""promote and rollback end to end: real DuckDB environment files, a real state database, the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.project.load import load_project
from app.project.tree import DirTree
from app.promotion.artifact import to_tar
from app.promotion.bundle import build_from_tree
from app.promotion.ledger import Ledger, Status
from app.promotion.promote import Action, ReasonCode
from app.promotion.release import ArtifactRefused, Context, promote, rollback
from app.promotion.store import ArtifactStore

from .conftest import ORDERS_SQL, write_env_data, write_project


def _ctx(state, root: Path, at: str = "2026-11-25T10:00:00Z") -> Context:
    return Context(
        Ledger(state), ArtifactStore(Path(state.path).parent / "artifacts"), root, "alice", at, "c0ffee"
    )


def _artifact(root: Path) -> tuple[str, bytes]:
    artifact, _ = build_from_tree(DirTree(root))
    return artifact.digest, to_tar(artifact)


def _through(state, root: Path, data: bytes, *envs: str):
    outcomes = [promote(data, env, _ctx(state, root)) for env in envs]
    assert [o.decision.action for o in outcomes] == [Action.PROMOTE] * len(envs), [
        o.decision for o in outcomes
    ]
    return outcomes


def test_a_digest_walks_dev_staging_prod_and_each_canary_is_reconciled_with_the_one_before(shop, state):
    digest, data = _artifact(shop)
    dev, staging, prod = _through(state, shop, data, "dev", "staging", "prod")
    assert dev.canary.baseline is None
    assert (staging.canary.baseline, prod.canary.baseline) == ("dev", "staging")
    assert prod.canary.run.sample_fraction == 0.5
    assert (
        prod.entry.status is Status.LIVE and prod.entry.actor == "alice" and prod.entry.commit_sha == "c0ffee"
    )
    assert set(prod.entry.canary["models"]) == {"fct_orders", "revenue"}
    assert Ledger(state).view().live == {"dev": digest, "staging": digest, "prod": digest}


def test_promoting_to_a_later_environment_first_is_refused_and_records_nothing(shop, state):
    _, data = _artifact(shop)
    outcome = promote(data, "prod", _ctx(state, shop))
    assert outcome.decision.refused and outcome.exit_code == 1
    assert [r.code for r in outcome.decision.reasons] == [ReasonCode.UNVALIDATED]
    assert outcome.canary is None and Ledger(state).history() == []


def test_promoting_the_live_digest_again_is_an_idempotent_noop(shop, state):
    _, data = _artifact(shop)
    _through(state, shop, data, "dev")
    again = promote(data, "dev", _ctx(state, shop))
    assert again.decision.action is Action.NOOP and again.exit_code == 0
    assert again.canary is None and len(Ledger(state).history("dev")) == 1


def test_parity_failure_inside_the_artifact_refuses(tmp_path, state):
    from .conftest import CONFIG

    root = write_project(tmp_path / "p", config=CONFIG + "    overrides:\n      canary: {seed: 1}\n")
    for env in ("dev", "staging", "prod"):
        write_env_data(root / "data" / f"{env}.duckdb")
    _, data = _artifact(root)
    _through(state, root, data, "dev", "staging")
    outcome = promote(data, "prod", _ctx(state, root))
    assert [r.code for r in outcome.decision.reasons] == [ReasonCode.PARITY]
    assert "canary.seed" in outcome.decision.reasons[0].message


def test_a_canary_failure_in_the_target_refuses_and_keeps_the_live_digest(shop, state, tmp_path):
    _, old = _artifact(shop)
    _through(state, shop, old, "dev", "staging")
    # a new release, validated on dev and staging, meets prod data where a third of customers are missing:
    # the left join leaves `country` null far beyond the 5-point threshold
    (shop / "models" / "fct_orders.sql").write_text(ORDERS_SQL + "  and o.amount >= 0\n")
    digest, new = _artifact(shop)
    _through(state, shop, new, "dev", "staging")
    write_env_data(shop / "data" / "prod.duckdb", orphan_every=3)
    outcome = promote(new, "prod", _ctx(state, shop))
    assert outcome.decision.refused and outcome.decision.reasons[-1].code is ReasonCode.CANARY
    rules = {(f.rule, f.dataset, f.data.get("column")) for f in outcome.canary.findings if f.blocking}
    assert ("null-rate-shift", "fct_orders", "country") in rules
    assert outcome.entry.status is Status.FAILED
    assert Ledger(state).live("prod") is None
    # the same digest is then named as a canary failure by the protection rule's decision
    assert Ledger(state).view().failed_in("prod", digest)


def test_a_model_that_fails_in_the_environment_fails_the_canary_and_skips_its_downstream(shop, state):
    # statically fine, fails on the data: 'paid' is no number
    (shop / "models" / "fct_orders.sql").write_text(
        ORDERS_SQL.replace("o.amount", "cast(o.status as double) as amount")
    )
    _, data = _artifact(shop)
    outcome = promote(data, "dev", _ctx(state, shop))
    assert outcome.decision.refused
    failed = {f.dataset: f.message for f in outcome.canary.findings if f.rule == "model-failed"}
    assert "failed in dev" in failed["fct_orders"]
    assert "it reads fct_orders (failed)" in failed["revenue"]


def test_rollback_promotes_the_last_known_good_back_from_the_store(shop, state):
    first, data1 = _artifact(shop)
    _through(state, shop, data1, "dev")
    (shop / "models" / "fct_orders.sql").write_text(ORDERS_SQL.replace("o.amount", "o.amount * 2 as amount"))
    second, data2 = _artifact(shop)
    _through(state, shop, data2, "dev")
    project = load_project(DirTree(shop))
    outcome = rollback("dev", _ctx(state, shop), project)
    assert outcome.decision.action is Action.PROMOTE and outcome.decision.kind == "rollback"
    assert outcome.decision.digest == first and outcome.decision.previous_live == second
    ledger = Ledger(state)
    assert ledger.live("dev").digest == first and ledger.live("dev").kind == "rollback"
    assert [e.status for e in ledger.history("dev", second)] == [Status.ROLLED_BACK]
    # nothing older is good any more: a second rollback is refused with the reason
    again = rollback("dev", _ctx(state, shop), project)
    assert again.decision.refused and again.decision.reasons[0].code is ReasonCode.NO_LAST_KNOWN_GOOD


def test_rollback_with_nothing_promoted_is_refused(shop, state):
    outcome = rollback("prod", _ctx(state, shop), load_project(DirTree(shop)))
    assert outcome.decision.reasons[0].code is ReasonCode.NOTHING_LIVE


def test_a_tampered_artifact_is_refused_before_anything_runs(shop, state):
    _, data = _artifact(shop)
    at = data.index(b"left join")
    tampered = data[:at] + b"right join" + data[at + len(b"left join") + 1 :]
    with pytest.raises(ArtifactRefused) as err:
        promote(tampered, "dev", _ctx(state, shop))
    assert err.value.exit_code == 1 and "changed project/models/fct_orders.sql" in err.value.message
    assert Ledger(state).history() == []


def test_an_environment_without_its_data_file_is_a_config_error(shop, state):
    from app.errors import ConfigError

    (shop / "data" / "dev.duckdb").unlink()
    _, data = _artifact(shop)
    with pytest.raises(ConfigError, match="does not exist"):
        promote(data, "dev", _ctx(state, shop))


def test_a_contract_quality_rule_failing_in_the_target_refuses(shop, state):
    import duckdb

    _, data = _artifact(shop)
    _through(state, shop, data, "dev")
    con = duckdb.connect(str(shop / "data" / "staging.duckdb"))
    con.execute("insert into raw_orders select * from raw_orders where order_id <= 3")  # duplicate keys
    con.close()
    outcome = promote(data, "staging", _ctx(state, shop))
    assert outcome.decision.refused
    failed = [f for f in outcome.canary.findings if f.rule == "quality-rule-failed"]
    assert failed and failed[0].dataset == "fct_orders" and "order_id" in failed[0].message
    quality = {q["rule"]: q["passed"] for q in outcome.entry.canary["models"]["fct_orders"]["quality"]}
    assert False in quality.values()


def test_model_sql_reading_files_is_refused_by_the_sandbox(shop, state):
    (shop / "models" / "marts" / "revenue.sql").write_text(
        "select country || getenv('HOME') as country, sum(amount) as revenue, count(*) as orders"
        " from fct_orders group by country\n"
    )
    _, data = _artifact(shop)
    outcome = promote(data, "dev", _ctx(state, shop))
    (finding,) = [f for f in outcome.canary.findings if f.rule == "model-failed"]
    assert finding.dataset == "revenue" and "getenv" in finding.message
    assert outcome.decision.refused


def test_rollback_records_the_commit_the_digest_was_built_from(shop, state):
    first, data1 = _artifact(shop)
    promote(data1, "dev", _ctx(state, shop))  # commit c0ffee
    (shop / "models" / "fct_orders.sql").write_text(ORDERS_SQL.replace("o.amount", "o.amount * 2 as amount"))
    _, data2 = _artifact(shop)
    later = Context(
        Ledger(state), ArtifactStore(Path(state.path).parent / "artifacts"), shop, "bob", "t2", "beef"
    )
    promote(data2, "dev", later)
    outcome = rollback("dev", later, load_project(DirTree(shop)))
    assert outcome.entry.digest == first and outcome.entry.commit_sha == "c0ffee"
    assert outcome.entry.reason.startswith("rolled back from") and outcome.entry.reason.endswith("by bob")


def test_a_source_missing_from_the_environment_data_is_a_config_error(shop, state):
    import duckdb

    from app.errors import ConfigError

    con = duckdb.connect(str(shop / "data" / "dev.duckdb"))
    con.execute("drop table raw_customers")
    con.close()
    _, data = _artifact(shop)
    with pytest.raises(ConfigError, match="cannot read source 'raw_customers'") as err:
        promote(data, "dev", _ctx(state, shop))
    assert "source_schema" in err.value.hint


def test_a_refused_rollback_says_in_words_that_there_is_nothing_to_roll_back_to(shop, state):
    from app.promotion.cli import render_outcome

    text = render_outcome(rollback("prod", _ctx(state, shop), load_project(DirTree(shop))))
    assert "REFUSED rollback of prod: there is no earlier good digest to roll back to" in text
    assert " - " not in text.splitlines()[0] and "of -" not in text


def test_a_digest_rolled_back_in_an_environment_is_not_promoted_back_without_force(shop, state):
    from dataclasses import replace

    _, data1 = _artifact(shop)
    _through(state, shop, data1, "dev")
    (shop / "models" / "fct_orders.sql").write_text(ORDERS_SQL.replace("o.amount", "o.amount * 2 as amount"))
    second, data2 = _artifact(shop)
    _through(state, shop, data2, "dev")
    rollback("dev", _ctx(state, shop), load_project(DirTree(shop)))
    again = promote(data2, "dev", _ctx(state, shop))
    assert again.decision.refused
    assert [r.code for r in again.decision.reasons] == [ReasonCode.ROLLED_BACK]
    assert Ledger(state).live("dev").digest != second
    # with a reason it goes, and the ledger says who forced it and why
    forced = promote(
        data2, "dev", replace(_ctx(state, shop), force_reason="fixed upstream, verified by hand")
    )
    assert forced.decision.action is Action.PROMOTE
    live = Ledger(state).live("dev")
    assert live.digest == second
    assert live.reason == "forced past its rollback in dev by alice: fixed upstream, verified by hand"
