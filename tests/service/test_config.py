"""Service settings: every missing or malformed variable stops start-up with a message naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import Settings, get_settings, load_settings
from app.errors import ConfigError
from tests.service.conftest import ROOT

REQUIRED = ("GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_PRIVATE_KEY_PATH", "GITHUB_WEBHOOK_SECRET")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, private_key_pem: str, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in [
        *REQUIRED,
        "GITHUB_API_URL",
        "DATACANARY_STATE",
        "DATACANARY_WORKERS",
        "DATACANARY_WORKER_MODE",
        "DATACANARY_WORKER_NICE",
        "DATACANARY_MAX_BODY",
    ]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_APP_ID", "12345")
    monkeypatch.setenv("GITHUB_PRIVATE_KEY", private_key_pem)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv("DATACANARY_STATE", str(tmp_path / "state.sqlite"))
    return monkeypatch


def test_settings_come_from_the_environment(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3")
    env.setenv("DATACANARY_WORKERS", "3")
    settings = load_settings()
    assert settings.app_id == 12345
    assert settings.webhook_secret.get_secret_value() == "s3cret"
    assert settings.api_url == "https://ghe.example.com/api/v3"
    assert settings.state == tmp_path / "state.sqlite"
    assert settings.workers == 3
    assert settings.max_body == 25 * 1024 * 1024


def test_workers_are_processes_unless_threads_are_asked_for(env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert (settings.worker_mode, settings.workers, settings.worker_nice) == ("process", 4, 10)
    env.setenv("DATACANARY_WORKER_MODE", "thread")
    env.setenv("DATACANARY_WORKER_NICE", "0")
    assert (load_settings().worker_mode, load_settings().worker_nice) == ("thread", 0)


@pytest.mark.parametrize(
    ("name", "value"), [("DATACANARY_WORKER_MODE", "fork"), ("DATACANARY_WORKER_NICE", "20")]
)
def test_bad_worker_setting_is_named(env: pytest.MonkeyPatch, name: str, value: str) -> None:
    env.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name}: .*got '{value}'"):
        load_settings()


def test_defaults_state_to_a_sqlite_file(env: pytest.MonkeyPatch) -> None:
    env.delenv("DATACANARY_STATE")
    assert load_settings().state == Path(".datacanary/state.sqlite")


@pytest.mark.parametrize("name", ["GITHUB_APP_ID", "GITHUB_WEBHOOK_SECRET"])
def test_missing_setting_is_named(env: pytest.MonkeyPatch, name: str) -> None:
    env.delenv(name)
    with pytest.raises(ConfigError, match=f"{name} is not set"):
        load_settings()


def test_missing_private_key_names_both_variables(env: pytest.MonkeyPatch) -> None:
    env.delenv("GITHUB_PRIVATE_KEY")
    with pytest.raises(ConfigError, match="GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH"):
        load_settings()


def test_non_numeric_app_id_is_named_with_its_value(env: pytest.MonkeyPatch) -> None:
    env.setenv("GITHUB_APP_ID", "my-app")
    with pytest.raises(ConfigError, match=r"GITHUB_APP_ID: .*integer.*'my-app'"):
        load_settings()


def test_malformed_private_key_is_refused(env: pytest.MonkeyPatch) -> None:
    env.setenv(
        "GITHUB_PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----"
    )
    with pytest.raises(ConfigError, match="GITHUB_PRIVATE_KEY is not a PEM-encoded RSA private key"):
        load_settings()


def test_non_rsa_private_key_is_refused(env: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    env.setenv("GITHUB_PRIVATE_KEY", pem.decode())
    with pytest.raises(ConfigError, match="not a PEM-encoded RSA private key"):
        load_settings()


def test_private_key_with_escaped_newlines_is_accepted(env: pytest.MonkeyPatch, private_key_pem: str) -> None:
    env.setenv("GITHUB_PRIVATE_KEY", private_key_pem.strip().replace("\n", "\\n"))
    assert load_settings().private_key_pem() == private_key_pem


def test_private_key_from_a_file(env: pytest.MonkeyPatch, private_key_pem: str, tmp_path: Path) -> None:
    path = tmp_path / "app.pem"
    path.write_text(private_key_pem)
    env.delenv("GITHUB_PRIVATE_KEY")
    env.setenv("GITHUB_PRIVATE_KEY_PATH", str(path))
    assert load_settings().private_key_pem() == private_key_pem


def test_unreadable_private_key_file_is_named(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.delenv("GITHUB_PRIVATE_KEY")
    env.setenv("GITHUB_PRIVATE_KEY_PATH", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="GITHUB_PRIVATE_KEY_PATH: cannot read"):
        load_settings()


def test_both_private_key_variables_is_ambiguous(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("GITHUB_PRIVATE_KEY_PATH", str(tmp_path / "app.pem"))
    with pytest.raises(ConfigError, match="only one of"):
        load_settings()


def test_out_of_range_worker_count_is_named(env: pytest.MonkeyPatch) -> None:
    env.setenv("DATACANARY_WORKERS", "-1")
    with pytest.raises(ConfigError, match="DATACANARY_WORKERS"):
        load_settings()


def test_get_settings_reads_nothing_at_import_and_caches(env: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    try:
        first = get_settings()
        env.setenv("GITHUB_APP_ID", "999")
        assert get_settings() is first and isinstance(first, Settings)
    finally:
        get_settings.cache_clear()


def test_serve_with_a_bad_setting_exits_2_with_the_message_and_no_traceback(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k not in REQUIRED}
    environ.update({"GITHUB_APP_ID": "12", "GITHUB_WEBHOOK_SECRET": "x", "GITHUB_PRIVATE_KEY": "nope"})
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "0"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "GITHUB_PRIVATE_KEY is not a PEM-encoded RSA private key" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_serve_with_a_bad_sandbox_cap_stops_at_start_naming_it(private_key_pem: str, tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k not in REQUIRED}
    environ.update(
        {
            "GITHUB_APP_ID": "12",
            "GITHUB_WEBHOOK_SECRET": "x",
            "GITHUB_PRIVATE_KEY": private_key_pem,
            "DATACANARY_STATE": str(tmp_path / "state.db"),
            "DATACANARY_SANDBOX_MAX_MEMORY": "plenty",
        }
    )
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "0"],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "DATACANARY_SANDBOX_MAX_MEMORY='plenty' is not a memory size" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("value", "said"),
    [("", "GITHUB_API_URL is set but empty"), ("  ", "GITHUB_API_URL is set but empty"),
     ("api.github.com", "is not an http(s) URL"), ("https://ghes.example.com/api/v3 x", "is not an http(s) URL")],
)  # fmt: skip
def test_an_empty_or_malformed_api_url_is_refused_naming_it(
    env: pytest.MonkeyPatch, value: str, said: str
) -> None:
    env.setenv("GITHUB_API_URL", value)
    with pytest.raises(ConfigError, match="GITHUB_API_URL") as info:
        load_settings()
    assert said in info.value.message
    assert "Value error" not in info.value.message and info.value.message.count("GITHUB_API_URL") == 1
    if value.strip():  # a malformed URL keeps the URL's own hint, not the generic one
        assert "api/v3" in (info.value.hint or "")


def test_any_setting_set_but_empty_is_named(env: pytest.MonkeyPatch) -> None:
    env.setenv("DATACANARY_WORKERS", "")
    env.setenv("DATACANARY_PROJECT_DIR", "")  # empty means the repository root: fine
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "DATACANARY_WORKERS is set but empty" in info.value.message
    assert "PROJECT_DIR" not in info.value.message
    # a value given by the caller wins over the empty variable, by field or by variable name
    assert load_settings(workers=2).workers == 2
    assert load_settings(DATACANARY_WORKERS=3).workers == 3


def test_an_empty_setting_is_named_whatever_the_case_of_its_name(env: pytest.MonkeyPatch) -> None:
    env.setenv("datacanary_workers", "")  # the names match case-insensitively (case_sensitive=False)
    with pytest.raises(ConfigError, match="DATACANARY_WORKERS is set but empty"):
        load_settings()


def test_the_action_and_promote_refuse_an_empty_api_url_too() -> None:
    from action.environment import ActionEnv
    from app.config import github_api_url

    assert github_api_url({}) == "https://api.github.com"
    assert (
        github_api_url({"GITHUB_API_URL": "https://ghes.example.com/api/v3/"})
        == "https://ghes.example.com/api/v3"
    )
    with pytest.raises(ConfigError, match="GITHUB_API_URL is set but empty"):
        ActionEnv.from_env({"GITHUB_REPOSITORY": "o/r", "GITHUB_API_URL": ""})
