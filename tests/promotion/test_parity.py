from __future__ import annotations

import pytest

from app.errors import ConfigError, UsageError
from app.project.config import parse_config
from app.promotion.environments import effective_project_config, environment, environments
from app.promotion.parity import parity

from .conftest import CONFIG


def _config(extra: str = "", base: str = CONFIG):
    return parse_config(base + extra, "datacanary.yml")


def test_environments_keep_declaration_order_and_know_their_predecessor():
    config, _ = _config()
    envs = environments(config)
    assert [e.name for e in envs] == ["dev", "staging", "prod"]
    assert [e.previous for e in envs] == [None, "dev", "staging"]


def test_effective_parameters_are_defaults_updated_by_the_environment():
    config, _ = _config()
    prod = environment(config, "prod")
    assert prod.parameters == {
        "schema": "prod",
        "data": "data/prod.duckdb",
        "sample_fraction": 0.5,
        "warehouse_size": "large",
    }
    assert prod.sample_fraction == 0.5 and prod.data == "data/prod.duckdb"
    assert environment(config, "dev").sample_fraction == 1.0


def test_parity_passes_when_only_declared_parameters_differ():
    config, doc = _config()
    result = parity(config, "staging", "prod", doc)
    assert result.ok
    assert {d.path for d in result.differences} == {
        "parameters.schema",
        "parameters.data",
        "parameters.sample_fraction",
        "parameters.warehouse_size",
    }
    assert all(d.allowed for d in result.differences)


def test_parity_fails_on_an_override_outside_the_parameters_and_names_its_line():
    text = CONFIG + "    overrides:\n      canary: {thresholds: {changed_rows_pct: 20}}\n"
    config, doc = parse_config(text, "datacanary.yml")
    result = parity(config, "staging", "prod", doc)
    assert not result.ok
    (bad,) = result.violations
    assert bad.path == "canary.thresholds.changed_rows_pct"
    assert (bad.source_value, bad.target_value) == (5.0, 20.0)
    assert (
        bad.location is not None
        and bad.location.line
        == text.splitlines().index("      canary: {thresholds: {changed_rows_pct: 20}}") + 1
    )


def test_an_override_equal_to_the_project_value_is_no_difference():
    text = CONFIG + "    overrides:\n      canary: {thresholds: {changed_rows_pct: 5}}\n"
    config, doc = parse_config(text, "datacanary.yml")
    assert parity(config, "staging", "prod", doc).ok


def test_an_undeclared_parameter_is_a_parity_violation():
    text = CONFIG.replace(
        "{schema: staging, data: data/staging.duckdb,",
        "{schema: staging, debug: true, data: data/staging.duckdb,",
    )
    config, doc = parse_config(text, "datacanary.yml")
    result = parity(config, "staging", "prod", doc)
    assert [d.path for d in result.violations] == ["parameters.debug"]
    assert result.violations[0].kind == "removed"


def test_environments_may_be_declared_as_a_list():
    text = CONFIG.split("environments:")[0] + (
        "environments:\n  - name: staging\n    parameters: {schema: s}\n"
        "  - name: prod\n    parameters: {schema: p}\n"
    )
    config, _ = parse_config(text, "datacanary.yml")
    assert [e.name for e in environments(config)] == ["staging", "prod"]
    assert parity(config, "staging", "prod").ok


def test_unknown_environment_is_a_usage_error_with_a_suggestion():
    config, _ = _config()
    with pytest.raises(UsageError, match="did you mean 'prod'"):
        environment(config, "prd")


def test_an_invalid_override_is_a_config_error():
    text = CONFIG + "    overrides:\n      canary: {thresholds: {changed_rows_pct: -1}}\n"
    config, _ = parse_config(text, "datacanary.yml")
    with pytest.raises(ConfigError, match="environments.prod.overrides"):
        effective_project_config(config, "prod")


def test_override_reaches_the_effective_project_config():
    text = CONFIG + "    overrides:\n      canary: {thresholds: {row_count_change_pct: 50}}\n"
    config, _ = parse_config(text, "datacanary.yml")
    assert effective_project_config(config, "prod").canary.thresholds.row_count_change_pct == 50
    assert effective_project_config(config, "staging").canary.thresholds.row_count_change_pct == 10


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_list_form_environments_cite_the_overrides_and_parameters_own_lines():
    text = CONFIG.split("environments:")[0] + (
        "environments:\n  - name: staging\n    parameters: {schema: s}\n"
        "  - name: prod\n    parameters: {schema: p, region: eu}\n"
        "    overrides:\n      canary: {thresholds: {changed_rows_pct: 20}}\n"
    )
    config, doc = parse_config(text, "datacanary.yml")
    result = parity(config, "staging", "prod", doc)
    lines = {d.path: d.location.line for d in result.violations if d.location}
    assert lines["canary.thresholds.changed_rows_pct"] == _line(text, "changed_rows_pct: 20")
    assert lines["parameters.region"] == _line(text, "region: eu")


@pytest.mark.parametrize("form", ["mapping", "list"])
def test_an_unknown_key_in_an_override_is_named_at_its_line_like_the_top_level(form: str):
    override = "    overrides:\n      canary: {thresholdz: {changed_rows_pct: 20}}\n"
    if form == "mapping":
        text = CONFIG + override
    else:
        text = CONFIG.split("environments:")[0] + (
            "environments:\n  - name: staging\n  - name: prod\n" + override
        )
    config, doc = parse_config(text, "datacanary.yml")
    with pytest.raises(ConfigError) as err:
        parity(config, "staging", "prod", doc)
    assert "environments.prod.overrides.canary.thresholdz: unknown key `thresholdz`" in err.value.message
    assert "Extra inputs" not in err.value.message
    assert err.value.location is not None and err.value.location.line == _line(text, "thresholdz")
