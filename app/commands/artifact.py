"""`datacanary artifact build|verify`: a reproducible, content-addressed release artifact."""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser, name: str) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="build|verify")
    build = sub.add_parser("build", help="bundle models, contracts, datacanary.yml and lineage into one tar")
    build.add_argument("--project", default=".", help="the data project's directory (default: .)")
    build.add_argument(
        "--rev",
        metavar="REV",
        help="build from this git revision instead of the working directory (e.g. HEAD)",
    )
    build.add_argument(
        "--out", metavar="PATH", help="where to write it (default: dist/<name>-<digest12>.tar)"
    )
    build.add_argument("--gzip", action="store_true", help="gzip it (reproducibly: mtime 0, no file name)")
    build.add_argument("--format", choices=("text", "json"), default="text")
    verify = sub.add_parser("verify", help="recompute every digest; refuse a tampered or truncated artifact")
    verify.add_argument("path", help="the artifact file")
    verify.add_argument("--digest", help="also require this digest (sha256:...)")
    verify.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    return _build(args) if args.action == "build" else _verify(args)


def _build(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from app.errors import UsageError
    from app.project.tree import DirTree
    from app.promotion.artifact import to_tar
    from app.promotion.bundle import build_from_tree
    from app.report.env import render

    project_dir = Path(args.project)
    if not project_dir.is_dir():
        raise UsageError(f"--project {args.project}: no such directory")
    if args.rev:
        from app.project.git import GitTree, repo_root

        repo = repo_root(project_dir)
        root = project_dir.resolve().relative_to(repo).as_posix()
        artifact, _ = build_from_tree(GitTree(repo, args.rev), "" if root == "." else root)
    else:
        artifact, _ = build_from_tree(DirTree(project_dir))
    suffix = ".tar.gz" if args.gzip else ".tar"
    out = Path(args.out) if args.out else Path("dist") / f"{artifact.name}-{artifact.short}{suffix}"
    data = to_tar(artifact, compress=args.gzip)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    if args.format == "json":
        body = {
            "path": str(out),
            "digest": artifact.digest,
            "name": artifact.name,
            "files": len(artifact.files),
            "size": len(data),
        }
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
    else:
        sys.stdout.write(
            render(
                "promotion/build.txt.j2",
                path=out,
                name=artifact.name,
                files=len(artifact.files),
                size=len(data),
                digest=artifact.digest,
            )
        )
    return 0


def _verify(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from app.errors import UsageError
    from app.promotion.artifact import ArtifactError, Problem, Verification, verify
    from app.report.env import render

    path = Path(args.path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read artifact {path}: {exc.strerror}") from None
    try:
        result = verify(data)
    except ArtifactError as exc:
        exc.message = f"{path}: {exc.message}"
        raise
    if args.digest and result.ok and result.digest != args.digest:
        wrong = Problem(
            "manifest", "manifest.json", f"the artifact is {result.digest}, not the expected {args.digest}"
        )
        result = Verification(result.digest, result.computed, (wrong,), result.files)
    if args.format == "json":
        sys.stdout.write(json.dumps({"path": str(path), **result.to_json()}, indent=2) + "\n")
    else:
        sys.stdout.write(render("promotion/verify.txt.j2", path=path, result=result))
    return 0 if result.ok else 1
