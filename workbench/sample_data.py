"""Make the sample surveys that the notebooks and the quick start open.

``python -m workbench.sample_data --dir data/sample`` writes (if not already there):

- ``radio/``: a simulated radio survey (all morphology classes, with an infrared host channel);
- ``transients/``: DM-time / frequency-time images of simulated single-pulse candidates;
- ``lenses/``: simulated g, r, i strong-lens candidate stamps.

Each is made by the library function that the matching ``workbench simulate ...`` command
calls, with that command's arguments (the CLI is not driven from here).
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["SAMPLES", "make_samples"]

#: name -> the size and seed of that sample (``workbench simulate NAME --n N --seed SEED``)
SAMPLES = {
    "radio": {"n": 300, "seed": 0},
    "transients": {"n": 60, "seed": 0},
    "lenses": {"n": 200, "seed": 0},
}


def _make_radio(path: Path, n: int, seed: int) -> None:
    from workbench.sims.radio import simulate_radio

    simulate_radio(path, n=n, seed=seed, progress=True)


def _make_transients(path: Path, n: int, seed: int) -> None:
    from workbench.sims.transients import simulate_transients

    simulate_transients(path, n, seed=seed, progress=True)


def _make_lenses(path: Path, n: int, seed: int) -> None:
    from workbench.io.fits_open import rows_per_batch
    from workbench.sims.lenses import simulate_lenses

    size = 101  # the default of `workbench simulate lenses --size`, batched as that command does
    simulate_lenses(path, n, seed=seed, size=size,
                    batch_size=rows_per_batch(200, 4 * 3 * size * size))


_MAKERS = {"radio": _make_radio, "transients": _make_transients, "lenses": _make_lenses}


def make_samples(folder="data/sample", *, only=None, force: bool = False) -> dict:
    """Simulate the sample surveys missing from ``folder``; returns name -> path."""
    import shutil

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, args in SAMPLES.items():
        if only and name not in only:
            continue
        path = folder / name
        if force or not (path / "collection.json").exists():
            shutil.rmtree(path, ignore_errors=True)
            print(f"sample data: workbench simulate {name} --n {args['n']} --seed {args['seed']}"
                  f" -o {path}")
            _MAKERS[name](path, **args)
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
