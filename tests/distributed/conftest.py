"""A real Dask cluster on loopback for the distributed tests: one ``dask scheduler`` and two
``dask worker`` processes (``--nthreads 1``, no nanny, so killing a worker kills its tasks),
started as subprocesses on random ports and stopped at the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")


class LoopbackCluster:
    """Scheduler and worker processes; ``client()`` connects through the scheduler file."""

    def __init__(self, root: Path):
        self.root = root
        self.file = root / "scheduler.json"
        self.env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                    "OPENBLAS_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self.scheduler = None
        self.workers: list[subprocess.Popen] = []
        self._client = None

    def _spawn(self, *args, log: str) -> subprocess.Popen:
        fh = open(self.root / log, "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen([sys.executable, "-m", "dask", *args], env=self.env,
                                stdout=fh, stderr=subprocess.STDOUT, cwd=self.root)

    def start(self, n_workers: int = 2) -> None:
        self.scheduler = self._spawn("scheduler", "--host", "127.0.0.1", "--port", "0",
                                     "--no-dashboard", "--scheduler-file", str(self.file),
                                     log="scheduler.log")
        deadline = time.monotonic() + 60
        while not self.file.exists():
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("dask scheduler did not start: "
                                   + (self.root / "scheduler.log").read_text()[-2000:])
            time.sleep(0.1)
        json.loads(self.file.read_text())  # complete
        for _ in range(n_workers):
            self.add_worker()
        self.client().wait_for_workers(n_workers, timeout=90)

    def add_worker(self) -> subprocess.Popen:
        w = self._spawn("worker", "--scheduler-file", str(self.file), "--nthreads", "1",
                        "--no-nanny", "--no-dashboard", "--host", "127.0.0.1",
                        "--local-directory", str(self.root / "work"),
                        log=f"worker-{len(self.workers)}.log")
        self.workers.append(w)
        return w

    def live_workers(self) -> list[subprocess.Popen]:
        return [w for w in self.workers if w.poll() is None]

    def client(self):
        from distributed import Client

        if self._client is None:
            self._client = Client(scheduler_file=str(self.file), timeout="60s")
        return self._client

    def ensure_workers(self, n: int = 2) -> None:
        """Replace workers that a test killed."""
        while len(self.live_workers()) < n:
            self.add_worker()
        self.client().wait_for_workers(n, timeout=90)
        deadline = time.monotonic() + 30
        while len(self.client().scheduler_info(n_workers=-1)["workers"]) > n:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)  # the scheduler forgets a killed worker when its comm closes

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
        for p in self.workers:  # nothing of theirs is kept: no graceful close needed
            if p.poll() is None:
                p.kill()
        if self.scheduler is not None and self.scheduler.poll() is None:
            self.scheduler.send_signal(signal.SIGTERM)
        for p in [*self.workers, self.scheduler]:
            if p is None:
                continue
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture(scope="package")
def cluster(tmp_path_factory):
    c = LoopbackCluster(tmp_path_factory.mktemp("dask"))
    try:
        c.start(2)
        yield c
    finally:
        c.stop()


@pytest.fixture()
def client(cluster):
    cluster.ensure_workers(2)
    return cluster.client()


def write_fits_cutouts(folder: Path, n: int, *, side: int = 40, seed: int = 0) -> list[Path]:
    """``n`` small FITS cutouts with a SIN WCS and a restoring beam (astropy)."""
    from astropy.io import fits
    from astropy.wcs import WCS

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---SIN", "DEC--SIN"]
        w.wcs.crval = [150.0 + 0.01 * i, 2.0 - 0.005 * i]
        w.wcs.cdelt = [-1.8 / 3600, 1.8 / 3600]
        w.wcs.crpix = [side / 2, side / 2]
        h = w.to_header()
        h["BUNIT"] = "Jy/beam"
        h["BMAJ"], h["BMIN"], h["BPA"] = 5 / 3600, 5 / 3600, 0.0
        p = folder / f"src{i:04d}.fits"
        fits.writeto(p, rng.normal(size=(side, side)).astype(np.float32), h)
        out.append(p)
    return out


@pytest.fixture(scope="package")
def fits_inputs(tmp_path_factory) -> list[Path]:
    """300 real FITS cutouts: MiraBest's first 300 (FIRST survey) when ../shared/data has
    them, else 300 written with astropy."""
    root = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mirabest"
    files = sorted(p for p in root.resolve().rglob("*.fits"))[:300] if root.exists() else []
    if len(files) == 300:
        return files
    return write_fits_cutouts(tmp_path_factory.mktemp("fits"), 300)
