"""Properties over many inputs: the ledger's invariants under any sequence of outcomes, and parity's
rule (only declared parameters may differ) for any parameters and overrides."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from app.project.config import parse_config
from app.promotion.ledger import Ledger, Status
from app.promotion.parity import parity
from app.state import StateDB

DIGESTS = [f"sha256:{c * 64}" for c in "abcd"]
ENVS = ["dev", "prod"]
op = st.tuples(
    st.sampled_from(["promote", "fail", "rollback"]), st.sampled_from(ENVS), st.sampled_from(DIGESTS)
)


@settings(max_examples=60, deadline=None)
@given(st.lists(op, max_size=25))
def test_ledger_invariants_hold_for_any_sequence(ops):
    db = StateDB(":memory:")
    ledger = Ledger(db)
    try:
        for kind, env, digest in ops:
            if kind == "rollback":
                lkg = ledger.last_known_good(env)
                if lkg is None:
                    continue
                digest = lkg.digest
            ledger.record(
                digest=digest,
                environment=env,
                at="t",
                actor="a",
                passed=kind != "fail",
                canary={},
                kind="rollback" if kind == "rollback" else "promote",
            )
            for e in ENVS:
                live = [x for x in ledger.history(e) if x.status is Status.LIVE]
                assert len(live) <= 1
                view = ledger.view()
                assert view.live_in(e) == (live[0].digest if live else None)
                lkg = ledger.last_known_good(e)
                if lkg is not None:
                    assert lkg.digest != view.live_in(e)
                    assert view.passed_in(e, lkg.digest)  # never a digest rolled back since
                assert all(view.passed_in(e, d) for d in ledger.passed_digests(e))
    finally:
        db.close()


values = st.one_of(st.integers(-5, 5), st.text("abc", max_size=3), st.booleans(), st.none())
keys = st.sampled_from(["schema", "database", "data", "warehouse_size", "sample_fraction"])


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(keys, values, max_size=5),
    st.dictionaries(keys, values, max_size=5),
    st.dictionaries(keys, values, max_size=5),
    st.one_of(st.none(), st.integers(0, 100)),
)
def test_parity_fails_exactly_on_undeclared_differences(defaults, left, right, override):
    declared = dict(defaults)
    config = {
        "name": "p",
        "parameters": declared,
        "environments": {
            "staging": {"parameters": left},
            "prod": {
                "parameters": right,
                **({"overrides": {"canary": {"seed": override}}} if override is not None else {}),
            },
        },
    }
    cfg, doc = parse_config(yaml.safe_dump(config, sort_keys=False), "datacanary.yml")
    result = parity(cfg, "staging", "prod", doc)
    undeclared = {k for k in set(left) | set(right) if k not in declared}
    left_eff, right_eff = {**declared, **left}, {**declared, **right}
    bad_params = {k for k in undeclared if left_eff.get(k, "missing") != right_eff.get(k, "missing")}
    bad_override = override is not None and override != 42  # 42 is the default seed
    assert result.ok == (not bad_params and not bad_override)
    assert {d.path for d in result.violations} == {f"parameters.{k}" for k in bad_params} | (
        {"canary.seed"} if bad_override else set()
    )
