"""The pull request does not choose its own sandbox: limits come from the base revision, capped by the
operator's settings; a model that hangs blocks; the whole process's memory is bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.canary.limits import GIB, Caps, caps_from_env, effective_limits, format_size, parse_size
from app.errors import ConfigError
from app.project.config import SandboxLimits
from app.types import Severity

from .conftest import SHOP, shop_repo


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1GB", 10**9),
        ("512MiB", 512 * 2**20),
        ("1.5 GB", 1.5e9),
        ("1000", 1000),
        ("2g", 2e9),
        ("8 GiB", 8 * GIB),
    ],
)
def test_memory_sizes_read_as_duckdb_spells_them(text: str, size: float) -> None:
    assert parse_size(text) == int(size)
    assert parse_size(format_size(int(size))) == int(size)


@pytest.mark.parametrize("text", ["", "lots", "1XB", "-1GB", "GB", "nan GB"])
def test_a_memory_size_that_is_not_one_is_none(text: str) -> None:
    assert parse_size(text) is None


def test_the_base_revisions_limits_apply_not_the_pull_requests() -> None:
    base = SandboxLimits(memory_limit="1GB", threads=1, timeout_seconds=5)
    head = SandboxLimits(memory_limit="500GB", threads=64, timeout_seconds=86400)
    got = effective_limits(base, head, Caps())
    assert (got.memory, got.threads, got.seconds) == (10**9, 1, 5)
    assert any("apply once it is merged" in n for n in got.notes)


def test_a_new_project_gets_the_defaults_not_its_own_limits() -> None:
    got = effective_limits(None, SandboxLimits(timeout_seconds=86400), Caps())
    assert got.seconds == SandboxLimits().timeout_seconds


def test_the_operators_caps_lower_even_the_base_revisions_limits() -> None:
    base = SandboxLimits(memory_limit="64GB", threads=16, timeout_seconds=3600)
    got = effective_limits(base, base, Caps(memory=2 * GIB, threads=2, seconds=30))
    assert (got.memory, got.threads, got.seconds) == (2 * GIB, 2, 30)
    assert any("operator's caps" in n for n in got.notes)
    assert got.memory_limit == "2GiB"


def test_caps_come_from_the_environment_and_bad_values_name_the_variable() -> None:
    caps = caps_from_env(
        {
            "DATACANARY_SANDBOX_MAX_MEMORY": "512MiB",
            "DATACANARY_SANDBOX_MAX_THREADS": "1",
            "DATACANARY_SANDBOX_MAX_SECONDS": "2.5",
            "DATACANARY_PROCESS_MAX_MEMORY": "3GiB",
            "DATACANARY_SANDBOX_TIMEOUT": "warning",
        }
    )
    assert (caps.memory, caps.threads, caps.seconds, caps.process_limit) == (512 * 2**20, 1, 2.5, 3 * GIB)
    assert caps.timeout_severity is Severity.WARNING
    assert caps_from_env({}).process_limit == 3 * caps_from_env({}).memory + 2 * GIB
    for name, value in [
        ("DATACANARY_SANDBOX_MAX_MEMORY", "lots"),
        ("DATACANARY_SANDBOX_MAX_THREADS", "1.5"),
        ("DATACANARY_SANDBOX_MAX_SECONDS", "-1"),
        ("DATACANARY_SANDBOX_TIMEOUT", "ignore"),
    ]:
        with pytest.raises(ConfigError) as info:
            caps_from_env({name: value})
        assert name in info.value.message


def test_a_memory_limit_in_datacanary_yml_that_is_no_size_is_refused() -> None:
    with pytest.raises(ValueError, match="not a memory size"):
        SandboxLimits(memory_limit="all of it")


def _cli(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "check", "--project", str(repo), "--base", "base", "--head", "HEAD",
         "--quiet", "--format", "json", *args],
        capture_output=True, text=True, check=False, env={**os.environ, **(env or {})},
    )  # fmt: skip


HANG = "select count(*) as n from range(1000000000000)\n"


def _fast_base() -> str:
    return (SHOP / "datacanary.yml").read_text().replace("timeout_seconds: 5", "timeout_seconds: 1")


def test_a_pull_request_that_only_adds_a_hanging_model_is_blocked(tmp_path: Path) -> None:
    # the PR also tries to raise its own time limit: the base revision's 1 s applies
    head_config = _fast_base().replace("timeout_seconds: 1", "timeout_seconds: 3600")
    repo = shop_repo(
        tmp_path,
        {"models/hang.sql": HANG, "datacanary.yml": head_config},
        base_changes={"datacanary.yml": _fast_base()},
    )
    proc = _cli(repo)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["canary"]["limits"]["timeout_seconds"] == 1
    (timeout,) = [f for g in report["gates"] for f in g["findings"] if f["rule"] == "canary-timeout"]
    assert timeout["blocking"] and timeout["file"] == "models/hang.sql"
    assert any("apply once it is merged" in n for n in report["notes"])
    # the operator, not the pull request, may make it a warning
    relaxed = _cli(repo, env={"DATACANARY_SANDBOX_TIMEOUT": "warning"})
    assert relaxed.returncode == 0, relaxed.stdout


def test_the_whole_process_memory_is_bounded(tmp_path: Path) -> None:
    # DuckDB's own cap set high on purpose: the process bound must stop the bomb, and the run goes on
    config = _fast_base().replace("threads: 1}", "threads: 1, memory_limit: 16GB}")
    bomb = "select string_agg(repeat('x', 1000000), '') as s from range(20000)\n"
    repo = shop_repo(tmp_path, {"models/bomb.sql": bomb}, base_changes={"datacanary.yml": config})
    env = {"DATACANARY_SANDBOX_MAX_MEMORY": "16GB", "DATACANARY_PROCESS_MAX_MEMORY": "1500MiB"}
    proc = _cli(repo, env=env)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    rules = {f["rule"] for g in report["gates"] for f in g["findings"] if f["file"] == "models/bomb.sql"}
    assert rules == {"canary-memory"}


def test_bounding_the_process_lowers_the_soft_address_space_limit_only() -> None:
    code = (
        "import resource\nfrom app.canary.runner import bound_process_memory\n"
        "print(bound_process_memory(2**31), resource.getrlimit(resource.RLIMIT_AS)[0])\n"
        "print(bound_process_memory(2**40))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(2**31), str(2**31), str(2**31)]  # never raised again by a later, larger bound
