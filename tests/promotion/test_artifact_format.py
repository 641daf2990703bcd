"""The artifact format over bytes: digests, reproducible tar bytes, and every kind of tampering."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.promotion.artifact import ArtifactError, build_artifact, open_artifact, to_tar, verify

FILES = {
    "datacanary.yml": b"name: shop\n",
    "models/a.sql": b"select 1 as x\n",
    "contracts/a.odcs.yaml": b"id: a\n",
}
LINEAGE = {"order": ["a"], "models": {"a": {"upstream": []}}, "edges": []}


def _tar(files=FILES, compress=False) -> bytes:
    return to_tar(build_artifact("shop", files, LINEAGE, "0.1.0"), compress)


def _rewrite(data: bytes, change) -> bytes:
    """Re-pack the tar's members after `change(members)`: a tamperer with tar tools."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar}
    change(members)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


def test_entries_are_sorted_with_fixed_metadata():
    with tarfile.open(fileobj=io.BytesIO(_tar())) as tar:
        infos = tar.getmembers()
    names = [i.name for i in infos]
    assert names[0] == "manifest.json" and names[1:] == sorted(names[1:])
    assert {(i.mtime, i.uid, i.gid, i.uname, i.gname, i.mode) for i in infos} == {(0, 0, 0, "", "", 0o644)}


def test_digest_covers_content_but_not_the_tool_version():
    a = build_artifact("shop", FILES, LINEAGE, "0.1.0")
    b = build_artifact("shop", FILES, LINEAGE, "9.9.9")
    assert a.digest == b.digest
    assert (
        build_artifact("shop", {**FILES, "models/a.sql": b"select 2 as x\n"}, LINEAGE, "0.1.0").digest
        != a.digest
    )
    assert (
        build_artifact("shop", FILES, {**LINEAGE, "edges": [["s", "c", "a", "x"]]}, "0.1.0").digest
        != a.digest
    )


def test_crlf_line_endings_do_not_change_the_digest():
    crlf = {k: v.replace(b"\n", b"\r\n") for k, v in FILES.items()}
    assert (
        build_artifact("shop", crlf, LINEAGE, "0.1.0").digest
        == build_artifact("shop", FILES, LINEAGE, "0.1.0").digest
    )


def test_gzip_output_is_reproducible_and_verifies():
    assert _tar(compress=True) == _tar(compress=True)
    assert verify(_tar(compress=True)).ok


def test_an_untouched_artifact_verifies():
    result = verify(_tar())
    assert result.ok and result.digest == result.computed and result.files == 4


def test_a_changed_byte_is_named():
    data = bytearray(_tar())
    at = bytes(data).index(b"select 1 as x")
    data[at + 7] = ord("2")
    result = verify(bytes(data))
    assert [(p.kind, p.path) for p in result.problems] == [("changed", "project/models/a.sql")]


def test_an_added_file_is_named():
    data = _rewrite(_tar(), lambda m: m.__setitem__("project/models/evil.sql", b"select 666"))
    assert [(p.kind, p.path) for p in verify(data).problems] == [("added", "project/models/evil.sql")]


def test_a_removed_file_is_named():
    data = _rewrite(_tar(), lambda m: m.pop("project/contracts/a.odcs.yaml"))
    assert [(p.kind, p.path) for p in verify(data).problems] == [("removed", "project/contracts/a.odcs.yaml")]


def test_a_manifest_edited_to_match_is_caught_by_the_digest():
    def forge(m):
        manifest = json.loads(m["manifest.json"])
        manifest["content"]["files"] = [
            f for f in manifest["content"]["files"] if f["path"] != "lineage.json"
        ]
        m["manifest.json"] = json.dumps(manifest).encode()
        del m["lineage.json"]

    kinds = [p.kind for p in verify(_rewrite(_tar(), forge)).problems]
    assert kinds == ["manifest"]


@pytest.mark.parametrize("keep", [100, 700, 1500, 3000, 4500])
def test_a_truncated_artifact_is_refused(keep):
    data = _tar()
    assert any(p.kind == "truncated" for p in verify(data[:keep]).problems)


def test_a_truncated_gzip_artifact_is_refused():
    data = _tar(compress=True)
    assert [p.kind for p in verify(data[: len(data) - 20]).problems][:1] == ["truncated"]


def _with_duplicate(data: bytes, name: str, body: bytes) -> bytes:
    """The artifact's tar with a second member `name` (holding `body`) put before the real one."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in [(name, body), *members]:
            info = tarfile.TarInfo(path)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


@pytest.mark.parametrize("name", ["project/models/a.sql", "manifest.json"])
def test_a_path_held_twice_is_refused(name):
    # one copy for the verifier, another for whoever extracts: which one runs depends on the reader
    data = _with_duplicate(_tar(), name, b"select 2 as x\n")
    result = verify(data)
    assert not result.ok
    assert ("duplicate", name) in [(p.kind, p.path) for p in result.problems]


def test_data_after_the_end_of_the_tar_is_refused():
    data = _tar()
    assert len(data) % 10240 == 0  # the tar's own zero padding up to its record size verifies
    result = verify(data + b"models/evil.sql: select 1\n")
    assert [(p.kind, p.path) for p in result.problems] == [("trailing", "(tar)")]
    assert "26 bytes" in result.problems[0].detail
    assert verify(data + b"\0" * 512).ok  # zeros only: still the archive as built


def test_data_after_the_gzip_stream_is_refused():
    data = _tar(compress=True)
    second = _tar({**FILES, "models/a.sql": b"select 2 as x\n"}, compress=True)
    for tail, what in ((second, "another gzip stream"), (b"junk", "data (4 bytes)")):
        result = verify(data + tail)
        assert [(p.kind, p.path) for p in result.problems] == [("trailing", "(gzip)")]
        assert what in result.problems[0].detail


def test_something_that_is_not_a_tar_is_unreadable():
    with pytest.raises(ArtifactError, match="not a tar"):
        verify(b"hello" * 200)


def test_open_artifact_gives_back_the_project_files():
    artifact, result = open_artifact(_tar())
    assert result.ok
    assert artifact.project_files() == FILES
    assert artifact.lineage() == LINEAGE


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"models/[a-z]{1,8}\.sql", fullmatch=True),
        st.binary(max_size=300),
        min_size=1,
        max_size=6,
    ),
    st.integers(min_value=0),
)
def test_any_single_byte_flip_in_a_member_is_detected(files, pick):
    data = bytearray(to_tar(build_artifact("p", files, {}, "0")))
    target = sorted(files)[pick % len(files)]
    # find the member's data: it follows its 512-byte header; flip one byte of it
    with tarfile.open(fileobj=io.BytesIO(bytes(data))) as tar:
        info = tar.getmember("project/" + target)
    if not info.size:
        return
    data[info.offset_data + pick % info.size] ^= 0x01
    problems = verify(bytes(data)).problems
    assert [(p.kind, p.path) for p in problems] == [("changed", "project/" + target)]
