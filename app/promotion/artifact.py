"""Content-addressed release artifacts: a reproducible tar of everything that decides the data. [pure]

Layout: `manifest.json` first, then `lineage.json` and `project/<path>` in path order. Every entry has
mtime 0, uid/gid 0, no owner names and mode 0644, so the same inputs give the same bytes anywhere.
The artifact's identity is one sha256 over the manifest's `format` and `content` (the files' digests
and sizes); the datacanary version that built it is recorded outside the digest, because it does not
change what the artifact does (a change in resolved lineage does, and lineage.json is digested).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from app.errors import DatacanaryError

FORMAT = "datacanary-artifact/1"
MANIFEST = "manifest.json"
LINEAGE = "lineage.json"
PROJECT_PREFIX = "project/"
_TEXT_SUFFIXES = (".sql", ".yml", ".yaml", ".json", ".md")


class ArtifactError(DatacanaryError):
    """An artifact cannot be read at all (not a tar, not a datacanary artifact)."""


@dataclass(frozen=True, slots=True)
class Artifact:
    """A built or opened artifact: its digest, manifest and files (artifact path -> bytes)."""

    digest: str  # "sha256:<64 hex>"
    manifest: Mapping[str, Any]
    files: Mapping[str, bytes]

    @property
    def name(self) -> str:
        return str(self.manifest["content"]["name"])

    @property
    def short(self) -> str:
        return self.digest.removeprefix("sha256:")[:12]

    def project_files(self) -> dict[str, bytes]:
        """The project's files keyed by project-relative path (for a MemoryTree)."""
        return {
            p.removeprefix(PROJECT_PREFIX): b for p, b in self.files.items() if p.startswith(PROJECT_PREFIX)
        }

    def lineage(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.files[LINEAGE])
        return data


@dataclass(frozen=True, slots=True)
class Problem:
    """One way an artifact differs from its manifest."""

    kind: str  # changed | added | removed | truncated | trailing | duplicate | manifest | unsafe
    path: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of recomputing every digest of an artifact."""

    digest: str | None  # the digest the manifest claims (None if there is no readable manifest)
    computed: str | None  # the digest recomputed from the manifest's content
    problems: tuple[Problem, ...]
    files: int

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "digest": self.digest,
            "computed": self.computed,
            "files": self.files,
            "problems": [p.to_json() for p in self.problems],
        }


def canonical_json(value: Any) -> bytes:
    """The one JSON spelling used for digests and artifact members."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_digest(format_: str, content: Mapping[str, Any]) -> str:
    return "sha256:" + sha256(canonical_json({"format": format_, "content": content}))


def normalize_text(path: str, data: bytes) -> bytes:
    """CRLF -> LF in text files, so a Windows checkout builds the same artifact as a Linux one."""
    return data.replace(b"\r\n", b"\n") if path.endswith(_TEXT_SUFFIXES) else data


def build_artifact(
    name: str, project_files: Mapping[str, bytes], lineage: Mapping[str, Any], version: str
) -> Artifact:
    """Assemble the artifact of a project: its files (project-relative path -> bytes) and resolved lineage."""
    files = {PROJECT_PREFIX + p.strip("/"): normalize_text(p, b) for p, b in project_files.items()}
    files[LINEAGE] = json.dumps(lineage, sort_keys=True, indent=1).encode() + b"\n"
    content = {
        "name": name,
        "files": [{"path": p, "sha256": sha256(files[p]), "size": len(files[p])} for p in sorted(files)],
    }
    manifest = {
        "format": FORMAT,
        "digest": content_digest(FORMAT, content),
        "content": content,
        "built_with": {"datacanary": version},  # informative only: not part of the digest
    }
    return Artifact(str(manifest["digest"]), MappingProxyType(manifest), MappingProxyType(files))


def to_tar(artifact: Artifact, compress: bool = False) -> bytes:
    """The artifact's reproducible bytes: a tar (optionally gzip with mtime 0 and no file name)."""
    buf = io.BytesIO()
    members = [(MANIFEST, json.dumps(dict(artifact.manifest), sort_keys=True, indent=1).encode() + b"\n")]
    members += [(p, artifact.files[p]) for p in sorted(artifact.files)]
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in members:
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    if not compress:
        return raw
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    return out.getvalue()


def verify(data: bytes) -> Verification:
    """Recompute every digest of an artifact's bytes: changed, added, removed files and truncation."""
    raw, problems = _unwrap(data)
    members, read_problems = _members(raw)
    problems += read_problems
    if MANIFEST not in members:
        problems.append(Problem("manifest", MANIFEST, "the artifact has no readable manifest.json"))
        return Verification(None, None, tuple(problems), len(members))
    try:
        manifest = json.loads(members[MANIFEST])
        claimed, fmt, content = manifest["digest"], manifest["format"], manifest["content"]
        listed = {f["path"]: f for f in content["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(Problem("manifest", MANIFEST, f"manifest.json is not a datacanary manifest ({exc})"))
        return Verification(None, None, tuple(problems), len(members))
    computed = content_digest(fmt, content)
    if computed != claimed:
        problems.append(
            Problem("manifest", MANIFEST, f"manifest claims {claimed} but its content digests to {computed}")
        )
    for path in sorted(listed):
        want = listed[path]
        if path not in members:
            problems.append(Problem("removed", path, "listed in the manifest but missing from the artifact"))
            continue
        got = members[path]
        if len(got) != want.get("size") or sha256(got) != want.get("sha256"):
            problems.append(
                Problem(
                    "changed",
                    path,
                    f"expected sha256 {str(want.get('sha256'))[:12]}… ({want.get('size')} bytes), "
                    f"found {sha256(got)[:12]}… ({len(got)} bytes)",
                )
            )
    for path in sorted(set(members) - set(listed) - {MANIFEST}):
        problems.append(Problem("added", path, "in the artifact but not in the manifest"))
    return Verification(claimed, computed, tuple(problems), len(set(members) - {MANIFEST}))


def open_artifact(data: bytes) -> tuple[Artifact, Verification]:
    """Read and verify an artifact; the caller refuses it when the verification is not ok."""
    result = verify(data)
    raw, _ = _unwrap(data)
    members, _ = _members(raw)
    manifest = json.loads(members[MANIFEST]) if result.digest else {}
    files = {p: b for p, b in members.items() if p != MANIFEST}
    return Artifact(result.digest or "", MappingProxyType(manifest), MappingProxyType(files)), result


def _unwrap(data: bytes) -> tuple[bytes, list[Problem]]:
    if data[:2] != b"\x1f\x8b":
        return data, []
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        raw = inflate.decompress(data)  # a cut stream still yields what it has, so the report names survivors
    except zlib.error as exc:
        raise ArtifactError(
            f"the artifact is not valid gzip ({exc})", hint="rebuild it with `datacanary artifact build`"
        ) from None
    if not inflate.eof:
        return raw, [Problem("truncated", "(gzip)", "the gzip stream is cut short")]
    if inflate.unused_data:  # gunzip reads a second member on: the bytes are not the ones built
        what = "another gzip stream" if inflate.unused_data[:2] == b"\x1f\x8b" else "data"
        size = len(inflate.unused_data)
        return raw, [Problem("trailing", "(gzip)", f"{what} ({size:,} bytes) follows the gzip stream")]
    return raw, []


def _members(raw: bytes) -> tuple[dict[str, bytes], list[Problem]]:
    """Regular-file members by name; never extracts anything to disk."""
    members: dict[str, bytes] = {}
    problems: list[Problem] = []
    if len(raw) >= 257 and raw[257:262] != b"ustar":
        raise ArtifactError(
            "not a datacanary artifact (not a tar archive)",
            hint="pass the file `datacanary artifact build` wrote",
        )
    if len(raw) < 512:
        return members, [Problem("truncated", "(tar)", f"only {len(raw)} bytes: less than one tar header")]
    end = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            for info in tar:
                if not info.isreg() or info.name.startswith("/") or ".." in info.name.split("/"):
                    problems.append(Problem("unsafe", info.name, "not a plain file with a relative path"))
                    continue
                if info.name in members:  # tar tools keep the last copy, a reader may keep the first
                    problems.append(Problem("duplicate", info.name, "the archive holds this path twice"))
                    continue
                handle = tar.extractfile(info)
                members[info.name] = handle.read() if handle else b""
            end = tar.offset
    except (tarfile.TarError, EOFError) as exc:
        problems.append(Problem("truncated", "(tar)", f"the archive ends in the middle of an entry ({exc})"))
    # tar ends with two zero blocks (then zeros up to its record size); without them the file was cut at
    # an entry boundary, and anything else after them is not part of what was built
    if not any(p.kind == "truncated" for p in problems):
        if len(raw) < end + 1024 or raw[end : end + 1024].strip(b"\0"):
            problems.append(Problem("truncated", "(tar)", "the archive has no end-of-archive marker"))
        elif extra := len(raw[end + 1024 :].strip(b"\0")):
            problems.append(
                Problem("trailing", "(tar)", f"{extra:,} bytes of data follow the end-of-archive marker")
            )
    return members, problems
