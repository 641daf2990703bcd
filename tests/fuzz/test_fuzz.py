"""Fuzzing every input surface (see surfaces.py): exit 0, 1 or 2 only, never a traceback, the file named
on exit 2. Bounded here (a few dozen examples per surface, derandomized on CI); `python -m
tests.fuzz.run --examples N` runs the same tests longer and counts the cases."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import surfaces as s

EXAMPLES = int(os.environ.get("DATACANARY_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
pytestmark = pytest.mark.fuzz


def _tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="datacanary-fuzz-"))


@FUZZ
@given(s.mutated_text(s.CONTRACT_TEXT))
def test_contract_files(data: bytes) -> None:
    s.check_answer(s.contract_file(data, _tmp()))


@FUZZ
@given(s.mutated_text(s.CONTRACT_TEXT), s.mutated_text(s.CONTRACT_TEXT))
def test_contract_diffs(base: bytes, head: bytes) -> None:
    s.check_answer(s.contract_diff(base, head, _tmp()))


@FUZZ
@given(s.mutated_text(s.CONFIG_TEXT))
def test_project_config(data: bytes) -> None:
    s.check_answer(s.project_config(data))


@FUZZ
@given(s.sql_text)
def test_model_sql(sql: str) -> None:
    s.check_answer(s.model_sql(sql))


@FUZZ
@given(st.integers(0, len(s.MANIFEST_TEXT)), st.binary(max_size=3))
def test_truncated_dbt_manifests(cut: int, tail: bytes) -> None:
    s.check_answer(s.dbt_manifest(s.MANIFEST_TEXT.encode()[:cut] + tail, _tmp()))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=4) | st.just("<delete>"),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4,
)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 10**6), _JSON), min_size=1, max_size=5))
def test_dbt_manifests_with_wrong_types_and_missing_nodes(edits: list[tuple[int, Any]]) -> None:
    s.check_answer(s.dbt_manifest_edit(edits, _tmp()))


_CSV = st.lists(
    st.lists(st.sampled_from(["id", "1", "2", "", "x", "é", '"', "1.5", "NULL", "a,b", "\t"]), max_size=4),
    max_size=5,
).map(lambda rows: "\n".join(",".join(r) for r in rows).encode())
_OPTIONS = st.lists(
    st.sampled_from(["--key", "id", "id,id", "x", "--examples", "0", "3", "--no-profile", "--format", "json",
                     "markdown", "--tolerance", "id=abs:1", "c1=rel:0.1", "--low-cardinality", "1"]),
    max_size=4,
)  # fmt: skip


@FUZZ
@given(_CSV | st.binary(max_size=40), _CSV | st.binary(max_size=40), _OPTIONS)
def test_data_diff_of_csv_inputs(left: bytes, right: bytes, argv: list[str]) -> None:
    s.check_answer(s.data_diff(left, right, ".csv", argv, _tmp()))


@FUZZ
@given(
    st.integers(0, 10**6), st.integers(0, 30), st.none() | st.integers(0, 400),
    st.integers(0, 10**6), st.integers(0, 30), _OPTIONS,
)  # fmt: skip
def test_data_diff_of_parquet_inputs(
    seed_l: int, rows_l: int, cut: int | None, seed_r: int, rows_r: int, argv: list[str]
) -> None:
    left = s.parquet_bytes(seed_l, rows_l, cut)
    right = s.parquet_bytes(seed_r, rows_r, None)
    s.check_answer(s.data_diff(left, right, ".parquet", ["--key", "id", *argv], _tmp()))


@FUZZ
@given(st.binary(max_size=64), _OPTIONS)
def test_data_diff_of_garbage_duckdb_files(data: bytes, argv: list[str]) -> None:
    s.check_answer(s.data_diff(data, data, ".duckdb", argv, _tmp()))


PAYLOADS = s.real_payloads()
assert PAYLOADS, "no real payloads found: tests/fuzz would fuzz nothing"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, private_key_pem: str) -> Any:
    from app.config import load_settings
    from app.service.app import create_app
    from tests.support.signing import TEST_SECRET

    tmp = tmp_path_factory.mktemp("svc")
    settings_ = load_settings(
        app_id=1, private_key=private_key_pem, webhook_secret=TEST_SECRET, state=tmp / "svc.sqlite", workers=0
    )
    return create_app(settings_, github=lambda i, r: None, repo_checkout=lambda i, r, sha: tmp)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, Any]:
    event, payload = draw(st.sampled_from(PAYLOADS))
    kind = draw(st.sampled_from(["real", "edited", "bytes", "wrong-event"]))
    if kind == "edited" and isinstance(payload, dict) and payload:
        payload = dict(payload)
        key = draw(st.sampled_from(sorted(payload)))
        payload[key] = draw(_JSON)
    elif kind == "bytes":
        payload = draw(st.binary(max_size=30))
    elif kind == "wrong-event":
        event = draw(st.sampled_from(["push", "ping", "", "check_run", "x" * 300, "é"]))
    return event, payload


_HEADERS = st.dictionaries(
    st.sampled_from(["X-GitHub-Event", "X-GitHub-Delivery", "Content-Type", "X-Hub-Signature-256"]),
    st.none() | st.sampled_from(["", "pull_request", "text/plain", "sha256=zz", "application/json", "é" * 3]),
    max_size=2,
)


@FUZZ
@given(deliveries(), _HEADERS, st.booleans())
def test_webhook_deliveries(service: Any, delivery: tuple[str, Any], headers: dict, signed: bool) -> None:  # type: ignore[type-arg]
    event, payload = delivery
    s.check_answer(s.webhook(event, payload, headers, signed, service))


@FUZZ
@given(deliveries())
def test_event_payloads(delivery: tuple[str, Any]) -> None:
    s.check_answer(s.event_payload(*delivery))


@FUZZ
@given(st.lists(st.sampled_from(s.CLI_WORDS), min_size=1, max_size=7))
def test_cli_options(argv: list[str]) -> None:
    here = os.getcwd()
    tmp = _tmp()
    os.chdir(tmp)  # nothing a command writes by default (.datacanary/) lands in the checkout
    try:
        s.check_answer(s.run_cli(argv))
    finally:
        os.chdir(here)
