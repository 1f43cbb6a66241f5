"""Make the sample surveys that the notebooks and the quick start open.

``python -m workbench.sample_data --dir data/sample`` writes (if not already there):

- ``radio/``: a simulated radio survey (all morphology classes, with an infrared host channel);
- ``transients/``: DM-time / frequency-time images of simulated single-pulse candidates;
- ``lenses/``: simulated g, r, i strong-lens candidate stamps.

Each is made by the same ``workbench simulate ...`` command a user would run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["SAMPLES", "make_samples"]

#: name -> arguments of ``workbench simulate`` (without ``-o``)
SAMPLES = {
    "radio": ["simulate", "radio", "--n", "300", "--seed", "0"],
    "transients": ["simulate", "transients", "--n", "60", "--seed", "0"],
    "lenses": ["simulate", "lenses", "--n", "200", "--seed", "0"],
}


def make_samples(folder="data/sample", *, only=None, force: bool = False) -> dict:
    """Run the simulators for the sample surveys missing from ``folder``; returns name -> path."""
    from workbench.cli import cli

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, args in SAMPLES.items():
        if only and name not in only:
            continue
        path = folder / name
        if force or not (path / "collection.json").exists():
            import shutil

            shutil.rmtree(path, ignore_errors=True)
            print(f"sample data: workbench {' '.join(args)} -o {path}")
            cli.main(args=[*args, "-o", str(path)], prog_name="workbench", standalone_mode=False)
        out[name] = path
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="data/sample", help="where to write (default data/sample)")
    ap.add_argument("--only", nargs="*", choices=sorted(SAMPLES), help="only these samples")
    ap.add_argument("--force", action="store_true", help="remake even if present")
    a = ap.parse_args(argv)
    make_samples(a.dir, only=a.only, force=a.force)


if __name__ == "__main__":
    main()
