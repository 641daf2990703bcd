"""Settings of the GitHub App service, read from the environment with pydantic-settings.

Nothing is read at import time: `get_settings()` builds (and caches) the Settings when a front asks,
and turns every missing or malformed variable into one ConfigError that names it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.errors import ConfigError
from app.state import DEFAULT_STATE

MAX_BODY = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB and drops bigger ones
DEFAULT_API_URL = "https://api.github.com"
# {token} is the installation token, {full_name} owner/repo, {host} the web host for GHES.
DEFAULT_GIT_URL = "https://x-access-token:{token}@{host}/{full_name}.git"


_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d+)?(/[^\s]*)?$")
# settings whose empty value means something (the repository root); any other empty one is a mistake
_EMPTY_MEANS_SOMETHING = {"DATACANARY_PROJECT_DIR"}


def github_api_url(env: Mapping[str, str]) -> str:
    """GITHUB_API_URL from `env` (the default when unset); set but empty or not an http(s) URL is a
    ConfigError naming it: falling back silently would send a GHES installation's token to github.com."""
    if "GITHUB_API_URL" not in env:
        return DEFAULT_API_URL
    return _checked_url(env["GITHUB_API_URL"])


def _checked_url(value: str) -> str:
    if not value.strip():
        raise ConfigError(
            "GITHUB_API_URL is set but empty",
            hint=f"unset it to use {DEFAULT_API_URL}, or give your GitHub Enterprise Server's https://HOST/api/v3",
        )
    if not _URL.match(value):
        raise ConfigError(
            f"GITHUB_API_URL={value!r} is not an http(s) URL",
            hint="write it like https://api.github.com or https://github.example.com/api/v3",
        )
    return value.rstrip("/")


class _Invalid(ValueError):
    """A field validator's ConfigError through pydantic: its message and hint stay whole."""

    def __init__(self, message: str, hint: str | None) -> None:
        super().__init__(message)
        self.hint = hint


def _env(name: str, field: str) -> AliasChoices:
    # the environment spells it NAME; Python callers (tests, create_app) may pass the field name
    return AliasChoices(name, field)


class Settings(BaseSettings):
    """Everything `datacanary serve` needs. Environment variable names are given by each alias."""

    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", populate_by_name=True, frozen=True, env_ignore_empty=True
    )

    app_id: int = Field(validation_alias=_env("GITHUB_APP_ID", "app_id"), gt=0)
    private_key: SecretStr | None = Field(None, validation_alias=_env("GITHUB_PRIVATE_KEY", "private_key"))
    private_key_path: Path | None = Field(
        None, validation_alias=_env("GITHUB_PRIVATE_KEY_PATH", "private_key_path")
    )
    webhook_secret: SecretStr = Field(
        validation_alias=_env("GITHUB_WEBHOOK_SECRET", "webhook_secret"), min_length=1
    )
    api_url: str = Field(DEFAULT_API_URL, validation_alias=_env("GITHUB_API_URL", "api_url"))
    state: Path = Field(Path(DEFAULT_STATE), validation_alias=_env("DATACANARY_STATE", "state"))
    # how many deliveries are worked on at once: worker processes (the default), or threads of the web
    # process (`thread`: their CPU competes with the acknowledgments for the GIL; for tests and debugging)
    workers: int = Field(4, validation_alias=_env("DATACANARY_WORKERS", "workers"), ge=0, le=64)
    worker_mode: Literal["process", "thread"] = Field(
        "process", validation_alias=_env("DATACANARY_WORKER_MODE", "worker_mode")
    )
    # worker processes run this much nicer than the web process, so acknowledgments win a busy CPU
    worker_nice: int = Field(10, validation_alias=_env("DATACANARY_WORKER_NICE", "worker_nice"), ge=0, le=19)
    max_body: int = Field(MAX_BODY, validation_alias=_env("DATACANARY_MAX_BODY", "max_body"), gt=0)
    lease_seconds: float = Field(
        600.0, validation_alias=_env("DATACANARY_LEASE_SECONDS", "lease_seconds"), gt=0
    )
    # on SIGTERM, how long a worker waits for its delivery to finish before giving it back to the queue
    # (another process takes it up); keep it under the orchestrator's own grace (Kubernetes: 30 s)
    stop_grace_seconds: float = Field(
        5.0, validation_alias=_env("DATACANARY_STOP_GRACE_SECONDS", "stop_grace_seconds"), ge=0, le=3600
    )
    poll_seconds: float = Field(1.0, validation_alias=_env("DATACANARY_POLL_SECONDS", "poll_seconds"), gt=0)
    # the first wait before a delivery that failed on a passing GitHub error is tried again; each next
    # attempt waits twice as long (at most 5 minutes), or as long as GitHub asked (Retry-After)
    retry_seconds: float = Field(
        5.0, validation_alias=_env("DATACANARY_RETRY_SECONDS", "retry_seconds"), gt=0, le=300
    )
    max_attempts: int = Field(5, validation_alias=_env("DATACANARY_MAX_ATTEMPTS", "max_attempts"), ge=1)
    repo_cache: Path = Field(
        Path(".datacanary/repos"), validation_alias=_env("DATACANARY_REPO_CACHE", "repo_cache")
    )
    # 1: a shallow fetch of the two commits; 0: full history (contracts with a *_transitive
    # compatibility mode compare against every earlier version, which needs the history)
    fetch_depth: int = Field(1, validation_alias=_env("DATACANARY_FETCH_DEPTH", "fetch_depth"), ge=0)
    git_url_template: str = Field(
        DEFAULT_GIT_URL, validation_alias=_env("DATACANARY_GIT_URL_TEMPLATE", "git_url_template")
    )
    project_dir: str = Field("", validation_alias=_env("DATACANARY_PROJECT_DIR", "project_dir"))
    # what blocks a merge, as the Action's `fail-on` input: breaking | canary | warning | never
    fail_on: Literal["breaking", "canary", "warning", "never"] = Field(
        "canary", validation_alias=_env("DATACANARY_FAIL_ON", "fail_on")
    )
    canary: bool = Field(True, validation_alias=_env("DATACANARY_CANARY", "canary"))
    details_url: str | None = Field(None, validation_alias=_env("DATACANARY_DETAILS_URL", "details_url"))
    # bearer token Alertmanager (or any alert source) sends to POST /alerts; unset: the route answers 503
    alerts_token: SecretStr | None = Field(
        None, validation_alias=_env("DATACANARY_ALERTS_TOKEN", "alerts_token")
    )
    # per repository, a full-history checkout of the default branch for breach handling (culprit search,
    # SLO evaluation): <workspace>/<owner>/<repo>; relative environment `data` paths resolve inside it
    alerts_workspace: Path = Field(
        Path(".datacanary/workspaces"),
        validation_alias=_env("DATACANARY_ALERTS_WORKSPACE", "alerts_workspace"),
    )
    # a repeated alert for the same breach updates its revert at most this often (e.g. 30m, 1h)
    alerts_suppression: str = Field(
        "1h", validation_alias=_env("DATACANARY_ALERTS_SUPPRESSION", "alerts_suppression")
    )
    # GitHub client throttling: PyGithub's defaults in production, tests turn them off
    seconds_between_requests: float | None = Field(
        0.25, validation_alias=_env("DATACANARY_SECONDS_BETWEEN_REQUESTS", "seconds_between_requests")
    )
    seconds_between_writes: float | None = Field(
        1.0, validation_alias=_env("DATACANARY_SECONDS_BETWEEN_WRITES", "seconds_between_writes")
    )
    github_retry: bool = Field(True, validation_alias=_env("DATACANARY_GITHUB_RETRY", "github_retry"))
    # The dashboard (docs/dashboard.md): the App's OAuth client; unset, the dashboard's pages answer 404
    github_client_id: str | None = Field(
        None, validation_alias=_env("GITHUB_CLIENT_ID", "github_client_id"), min_length=1
    )
    github_client_secret: SecretStr | None = Field(
        None, validation_alias=_env("GITHUB_CLIENT_SECRET", "github_client_secret")
    )
    # where users reach the service (the OAuth callback is <url>/callback); https makes the cookie Secure
    dashboard_url: str | None = Field(
        None, validation_alias=_env("DATACANARY_DASHBOARD_URL", "dashboard_url")
    )
    # signs the session cookie; unset, a key derived from the App's private key (stable across restarts)
    session_secret: SecretStr | None = Field(
        None, validation_alias=_env("DATACANARY_SESSION_SECRET", "session_secret")
    )
    # github.com or a GHES host, for the OAuth pages and check-run links; unset, derived from GITHUB_API_URL
    github_web_url: str | None = Field(None, validation_alias=_env("GITHUB_WEB_URL", "github_web_url"))
    # gate results kept per repository (older ones are dropped as new ones arrive)
    dashboard_retention: int = Field(
        200, validation_alias=_env("DATACANARY_DASHBOARD_RETENTION", "dashboard_retention"), ge=1
    )
    # how long a user's readable repositories (asked of GitHub with their token) are trusted
    dashboard_access_seconds: float = Field(
        60.0, validation_alias=_env("DATACANARY_DASHBOARD_ACCESS_SECONDS", "dashboard_access_seconds"), ge=0
    )
    # Test and benchmark hooks: "noop" makes handlers do nothing and "cpu:MS" makes them hold the CPU
    # (and the GIL) for MS ms first, as a gate does (benchmarks/webhooks.py); "block:EVENT" makes a
    # worker hang before applying EVENT's effects (the crash test).
    test_hook: str | None = Field(None, validation_alias=_env("DATACANARY_TEST_HOOK", "test_hook"))

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        try:
            return _checked_url(value)
        except ConfigError as exc:
            raise _Invalid(exc.message, exc.hint) from None

    @field_validator("dashboard_url", "github_web_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _URL.match(value):
            raise ValueError("not an http(s) URL, write it like https://canary.example.com")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _oauth_pair(self) -> Settings:
        if (self.github_client_id is None) != (self.github_client_secret is None):
            raise ValueError(
                "set both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (the App's OAuth client) or neither"
            )
        if self.github_client_id is not None and self.dashboard_url is None:
            raise ValueError(
                "the dashboard needs DATACANARY_DASHBOARD_URL (its public address; the OAuth callback URL"
                " is that address + /callback)"
            )
        return self

    @property
    def dashboard(self) -> bool:
        """True when the dashboard is configured (the App's OAuth client is set)."""
        return self.github_client_id is not None

    def web_url(self) -> str:
        """GitHub's web host: GITHUB_WEB_URL, else github.com for api.github.com, else GHES's host."""
        if self.github_web_url:
            return self.github_web_url
        if self.api_url == DEFAULT_API_URL:
            return "https://github.com"
        return self.api_url.removesuffix("/api/v3")

    @model_validator(mode="after")
    def _one_private_key(self) -> Settings:
        if self.private_key is None and self.private_key_path is None:
            raise ValueError("set GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH")
        if self.private_key is not None and self.private_key_path is not None:
            raise ValueError("set only one of GITHUB_PRIVATE_KEY and GITHUB_PRIVATE_KEY_PATH")
        return self

    def private_key_pem(self) -> str:
        """The app's private key in PEM (read from GITHUB_PRIVATE_KEY_PATH when that is the one set)."""
        if self.private_key is not None:
            # one-line env values often carry literal "\n" escapes instead of newlines
            return self.private_key.get_secret_value().replace("\\n", "\n").strip() + "\n"
        assert self.private_key_path is not None
        try:
            return self.private_key_path.read_text()
        except OSError as exc:
            raise ConfigError(
                f"GITHUB_PRIVATE_KEY_PATH: cannot read {self.private_key_path}: {exc.strerror}",
                hint="point it at the .pem file downloaded from the GitHub App's settings page",
            ) from None


_NAMES = {
    name: str(field.validation_alias.choices[0])  # type: ignore[union-attr]
    for name, field in Settings.model_fields.items()
}


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and `overrides`) with the private key checked; else ConfigError."""
    blank = {key.upper() for key, value in os.environ.items() if not value.strip()}  # names: any case
    empty = sorted(
        name
        for field, name in _NAMES.items()
        if name.upper() in blank
        and name not in _EMPTY_MEANS_SOMETHING
        and field not in overrides
        and name not in overrides
    )
    if empty:  # pydantic-settings ignores empty variables: a typo'd deployment would run on defaults
        raise ConfigError(
            f"invalid service settings: {', '.join(empty)} {'is' if len(empty) == 1 else 'are'} set but empty",
            hint="unset a variable to use its default (see docs/app.md), or give it a value",
        )
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise _config_error(exc) from None
    _check_private_key(settings)
    return settings


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's Settings, read once from the environment on first use."""
    return load_settings()


def _config_error(exc: ValidationError) -> ConfigError:
    problems, hints = [], []
    for err in exc.errors():
        loc = err.get("loc") or ()
        field = str(loc[0]) if loc else ""
        name = _NAMES.get(field, field)
        invalid = (err.get("ctx") or {}).get("error")
        if isinstance(invalid, _Invalid):  # says the name and the value itself
            problems.append(str(invalid))
            hints += [invalid.hint] if invalid.hint else []
        elif err["type"] == "missing":
            problems.append(f"{name} is not set")
        elif name:
            problems.append(f"{name}: {err['msg']} (got {err.get('input')!r})")
        else:
            problems.append(str(err["msg"]).removeprefix("Value error, "))
    return ConfigError(
        "invalid service settings: " + "; ".join(problems),
        hint="; ".join(hints)
        or "set the variables in the environment of `datacanary serve` (see docs/app.md)",
    )


def _check_private_key(settings: Settings) -> None:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    name = "GITHUB_PRIVATE_KEY" if settings.private_key is not None else "GITHUB_PRIVATE_KEY_PATH"
    try:
        key = load_pem_private_key(settings.private_key_pem().encode(), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, RSAPrivateKey):
        raise ConfigError(
            f"{name} is not a PEM-encoded RSA private key",
            hint="use the .pem file GitHub generated for the app (-----BEGIN RSA PRIVATE KEY-----)",
        )
