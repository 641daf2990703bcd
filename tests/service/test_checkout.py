"""The per-repository git cache: shallow fetches of exactly the wanted commits with the installation
token in the URL (never stored, never shown in errors)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.errors import GitError
from app.service.checkout import RepoCache


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def remote(tmp_path: Path, demo_repo: Any) -> Path:
    root = tmp_path / "remotes"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(demo_repo.path), str(root / "o" / "r.git")], check=True
    )
    return root


def test_fetches_base_and_head_shallowly_with_the_token(tmp_path: Path, remote: Path, demo_repo: Any) -> None:
    tokens: list[int | None] = []

    def token(installation: int | None) -> str:
        tokens.append(installation)
        return "ghs_secret"

    cache = RepoCache(tmp_path / "cache", f"file://{remote}/{{full_name}}.git?t={{token}}", token)
    # git takes file:// URLs literally, so put the token where git ignores it: in a path that exists
    (remote / "o" / "r.git?t=ghs_secret").symlink_to(remote / "o" / "r.git")
    path = cache.checkout(5, "o/r", [demo_repo.base, demo_repo.head])
    assert _git(path, "cat-file", "-t", demo_repo.head) == "commit"
    assert _git(path, "cat-file", "-t", demo_repo.base) == "commit"
    assert (path / ".git" / "shallow").exists()
    assert "ghs_secret" not in (path / ".git" / "config").read_text()
    assert tokens == [5]


def test_commits_already_cached_are_not_fetched_again(tmp_path: Path, remote: Path, demo_repo: Any) -> None:
    cache = RepoCache(tmp_path / "cache", f"file://{remote}/{{full_name}}.git", lambda i: "unused")
    first = cache.checkout(None, "o/r", [demo_repo.head])
    (remote / "o" / "r.git").rename(remote / "gone.git")  # a fetch now would fail
    assert cache.checkout(None, "o/r", [demo_repo.head]) == first


def test_full_history_when_depth_is_zero(tmp_path: Path, remote: Path, demo_repo: Any) -> None:
    shallow = RepoCache(tmp_path / "cache", f"file://{remote}/{{full_name}}.git", lambda i: "")
    path = shallow.checkout(None, "o/r", [demo_repo.head])
    deep = RepoCache(tmp_path / "cache", f"file://{remote}/{{full_name}}.git", lambda i: "", depth=0)
    deep.checkout(None, "o/r", [demo_repo.base])
    assert not (path / ".git" / "shallow").exists()
    assert _git(path, "rev-list", "--count", demo_repo.head) == "2"


def test_a_failed_fetch_is_a_git_error_without_the_token(tmp_path: Path) -> None:
    cache = RepoCache(
        tmp_path / "cache", "file:///nonexistent/{token}/{full_name}.git", lambda i: "ghs_secret"
    )
    with pytest.raises(GitError) as info:
        cache.checkout(1, "o/r", ["a" * 40])
    assert "ghs_secret" not in info.value.render()
    assert info.value.hint


def test_github_com_api_maps_to_the_web_host_and_ghes_keeps_its_host(tmp_path: Path) -> None:
    urls: list[str] = []
    for api in ("https://api.github.com", "https://ghe.example.com/api/v3"):
        cache = RepoCache(
            tmp_path / "c", "https://x:{token}@{host}/{full_name}.git", lambda i: "t", api_url=api
        )
        urls.append(cache.url(1, "o/r"))
    assert urls == ["https://x:t@github.com/o/r.git", "https://x:t@ghe.example.com/o/r.git"]
