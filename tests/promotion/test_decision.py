from __future__ import annotations

from types import MappingProxyType

from app.project.config import parse_config
from app.promotion.environments import environment
from app.promotion.ledger import LedgerView
from app.promotion.parity import parity
from app.promotion.promote import Action, ReasonCode, conclude, plan_promotion, plan_rollback

from .conftest import CONFIG

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64
CFG, DOC = parse_config(CONFIG, "datacanary.yml")
BAD_CFG, BAD_DOC = parse_config(CONFIG + "    overrides:\n      canary: {seed: 1}\n", "datacanary.yml")


def _view(live=None, passed=None, failed=None) -> LedgerView:
    return LedgerView(
        MappingProxyType(live or {}),
        MappingProxyType({k: frozenset(v) for k, v in (passed or {}).items()}),
        MappingProxyType({k: frozenset(v) for k, v in (failed or {}).items()}),
    )


def test_first_environment_needs_no_predecessor():
    d = plan_promotion(A, environment(CFG, "dev"), _view(), None)
    assert d.action is Action.PROMOTE and d.reasons == ()


def test_refused_when_the_digest_has_not_passed_the_environment_before():
    d = plan_promotion(
        A, environment(CFG, "prod"), _view(passed={"dev": {A}}), parity(CFG, "staging", "prod")
    )
    assert d.action is Action.REFUSE
    assert [r.code for r in d.reasons] == [ReasonCode.UNVALIDATED]
    assert "staging" in d.reasons[0].message and "--to staging" in d.reasons[0].hint


def test_a_canary_failure_before_is_named_as_such():
    d = plan_promotion(A, environment(CFG, "prod"), _view(failed={"staging": {A}}), None)
    assert [r.code for r in d.reasons] == [ReasonCode.FAILED_BEFORE]


def test_refused_when_parity_fails_even_if_validated():
    d = plan_promotion(
        A,
        environment(BAD_CFG, "prod"),
        _view(passed={"staging": {A}}),
        parity(BAD_CFG, "staging", "prod", BAD_DOC),
    )
    assert d.action is Action.REFUSE
    assert [r.code for r in d.reasons] == [ReasonCode.PARITY]
    assert "canary.seed" in d.reasons[0].message


def test_every_reason_is_reported_at_once():
    d = plan_promotion(A, environment(BAD_CFG, "prod"), _view(), parity(BAD_CFG, "staging", "prod"))
    assert [r.code for r in d.reasons] == [ReasonCode.UNVALIDATED, ReasonCode.PARITY]


def test_promoting_the_live_digest_again_is_a_noop_that_says_so():
    d = plan_promotion(A, environment(CFG, "prod"), _view(live={"prod": A}), None)
    assert d.action is Action.NOOP and not d.refused
    assert "already live in prod" in d.reasons[0].message


def test_validated_digest_with_parity_is_promoted_pending_the_canary():
    d = plan_promotion(
        B,
        environment(CFG, "prod"),
        _view(live={"prod": A}, passed={"staging": {B}}),
        parity(CFG, "staging", "prod"),
    )
    assert d.action is Action.PROMOTE and d.previous_live == A
    assert conclude(d, True, "ok") is d
    failed = conclude(d, False, "fct_orders: column 'country' is 40% null")
    assert failed.action is Action.REFUSE and failed.reasons[-1].code is ReasonCode.CANARY


def test_rollback_without_anything_live_or_without_an_earlier_good_digest_is_refused():
    env = environment(CFG, "prod")
    assert plan_rollback(env, _view(), None, None).reasons[0].code is ReasonCode.NOTHING_LIVE
    assert (
        plan_rollback(env, _view(live={"prod": A}), None, None).reasons[0].code
        is ReasonCode.NO_LAST_KNOWN_GOOD
    )


def test_rollback_targets_the_last_known_good_with_the_same_checks():
    env = environment(CFG, "prod")
    d = plan_rollback(
        env,
        _view(live={"prod": B}, passed={"staging": {A, B}, "prod": {A, B}}),
        A,
        parity(CFG, "staging", "prod"),
    )
    assert (d.action, d.digest, d.kind, d.previous_live) == (Action.PROMOTE, A, "rollback", B)
