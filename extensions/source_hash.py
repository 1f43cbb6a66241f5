"""The hash of the JupyterLab extension's sources, recorded beside its built assets.

``extensions/campaigns/`` (TypeScript) is built with ``jlpm build:prod`` into
``workbench/labextension/``, which is committed so that installing the workbench needs no
Node. The build ends by recording this hash in ``workbench/labextension/.source-hash``;
``./scripts/setup`` rebuilds only when the sources' hash differs from the recorded one,
and ``tests/ui/test_labextension_assets.py`` fails when the sources changed but the assets
were not rebuilt.

The hash covers every file under ``extensions/campaigns/`` (sources, package.json,
tsconfig.json, yarn.lock, .yarnrc.yml, install.json, style/) except what the build and
jlpm make there (``node_modules/``, ``lib/``, ``.yarn/``, ``tsconfig.tsbuildinfo``):
SHA-256 over each file's path and content, in path order, with CRLF read as LF (so a
Windows checkout hashes the same).

Usage: ``python extensions/source_hash.py [--check | --write]`` (no option: print it).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "extensions" / "campaigns"
ASSETS = ROOT / "workbench" / "labextension"
RECORD = ".source-hash"

#: Folders and files the build or jlpm write among the sources (never hashed).
BUILT_DIRS = frozenset({"node_modules", "lib", ".yarn", "__pycache__"})
BUILT_FILES = frozenset({"tsconfig.tsbuildinfo", "yarn-error.log", ".DS_Store"})


def source_files(src: Path = SOURCES) -> list[Path]:
    """The hashed files under ``src``, sorted by their path relative to it."""
    found = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = [d for d in dirnames if d not in BUILT_DIRS]
        found += [Path(dirpath, f) for f in filenames if f not in BUILT_FILES]
    return sorted(found, key=lambda p: p.relative_to(src).as_posix())


def source_hash(src: Path = SOURCES) -> str:
    """The hex SHA-256 of the sources under ``src`` (see the module's docstring)."""
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: no extension sources here")
    h = hashlib.sha256()
    for path in source_files(src):
        data = path.read_bytes().replace(b"\r\n", b"\n")
        name = path.relative_to(src).as_posix().encode()
        h.update(b"%d:%s\0%d:" % (len(name), name, len(data)))
        h.update(data)
    return h.hexdigest()


def recorded_hash(assets: Path = ASSETS) -> str | None:
    """The hash the last build recorded in ``assets``, or None where there is none."""
    try:
        return (assets / RECORD).read_text().strip() or None
    except FileNotFoundError:
        return None


def write_hash(src: Path = SOURCES, assets: Path = ASSETS) -> str:
    """Record the sources' hash beside the built assets (after a build)."""
    if not (assets / "package.json").is_file():
        raise FileNotFoundError(f"{assets}: no built extension here (run jlpm build:prod)")
    digest = source_hash(src)
    (assets / RECORD).write_text(digest + "\n")
    return digest


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        print(write_hash())
        return 0
    if argv == ["--check"]:
        now, rec = source_hash(), recorded_hash()
        if now == rec:
            return 0
        print(f"{ASSETS / RECORD}: the built JupyterLab extension is out of date "
              f"(sources {now[:12]}, built from {(rec or 'nothing')[:12]}); rebuild it: "
              "cd extensions/campaigns && jlpm install && jlpm build:prod", file=sys.stderr)
        return 1
    if argv:
        print("usage: python extensions/source_hash.py [--check | --write]", file=sys.stderr)
        return 2
    print(source_hash())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
