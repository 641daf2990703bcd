"""The artifact store: promoted artifacts kept by digest under the state directory, so a rollback can
promote an earlier digest without anyone having to find its file again."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from app.errors import DatacanaryError
from app.promotion.artifact import ArtifactError, open_artifact


class ArtifactStore:
    """`<root>/sha256/<hex>.tar`; writes are atomic (temp file + rename) and reads are verified."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        algo, _, hexdigest = digest.partition(":")
        if algo != "sha256" or len(hexdigest) != 64 or not all(c in "0123456789abcdef" for c in hexdigest):
            raise DatacanaryError(
                f"not an artifact digest: {digest!r}", hint="digests look like sha256:<64 hex digits>"
            )
        return self.root / algo / f"{hexdigest}.tar"

    def put(self, digest: str, data: bytes) -> Path:
        """Keep the artifact bytes under their digest (a no-op when the same bytes are there)."""
        target = self.path(digest)
        if target.is_file() and target.read_bytes() == data:
            return target
        # missing, or damaged (`get` refuses it): `data` (verified by the caller) takes its place
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
        return target

    def get(self, digest: str) -> bytes:
        """The bytes of a stored artifact; missing or corrupted ones raise with what to do."""
        target = self.path(digest)
        if not target.is_file():
            raise DatacanaryError(
                f"artifact {digest} is not in the artifact store {self.root}",
                hint="promote it again from its file with `datacanary promote --artifact PATH --to ENV`",
            )
        data = target.read_bytes()
        try:
            artifact, result = open_artifact(data)
        except ArtifactError:  # not even a tar: its own hint ("pass the file ... wrote") is not for here
            artifact, result = None, None
        if result is None or artifact is None or not result.ok or artifact.digest != digest:
            raise DatacanaryError(
                f"the stored artifact {target} does not verify as {digest}",
                hint="the store was modified; promote the artifact again from its original file (an "
                "artifact rebuilt from its commit with `datacanary artifact build` has the same digest)",
            )
        return data

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()
