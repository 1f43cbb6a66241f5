"""Simulated single-pulse survey: a SIGPROC filterbank with ground-truthed events.

The file is cut into slots of ``slot_s`` seconds; each slot holds one event and the
candidate a search would report for it (time at the top of the band, DM, boxcar width,
S/N, all with realistic errors). Classes (``truth``):

``frb``
    A dispersed pulse (DM uniform in ``dm_range``): Gaussian of FWHM ``width``, a scattering
    tail ``exp(-t / tau)`` with ``tau = tau_1GHz * (f / 1 GHz)**-4``, a power-law spectrum
    ``(f / f_c)**alpha`` and, for half of them, scintillation (a random smooth modulation
    of the spectrum with decorrelation bandwidth of a few MHz).
``pulsar``
    One pulsar (period ``P``, DM) whose pulses arrive at ``t0 + k P`` in every pulsar slot
    (phase-connected across the file, so folding the pulsar slots at ``P`` stacks them);
    pulse energies vary (log-normal).
``rfi_broadband``
    A zero-DM impulse in all channels with a bumpy spectrum.
``rfi_narrowband``
    A few adjacent channels with strong, modulated power for the whole slot.
``noise``
    Nothing injected; a search's false positive.

Noise is Gaussian (sigma 1 before quantisation) with a smooth bandpass; 8-bit files store
``128 + 12 * gain * x``. The injected S/N is the matched-filter S/N of the pulse.
Everything is deterministic for a given ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.imaging.dedisperse import dispersion_delay
from workbench.io._atomic import new_folder
from workbench.io.collection import Collection
from workbench.io.filterbank import write_filterbank
from workbench.io.ingest_filterbank import ingest_filterbank, transient_products

__all__ = ["CLASSES", "SimulatedFilterbank", "simulate_filterbank", "simulate_transients"]

CLASSES = ("frb", "pulsar", "rfi_broadband", "rfi_narrowband", "noise")
_MIX = (0.3, 0.2, 0.15, 0.15, 0.2)
_LEVEL, _SCALE = 128.0, 12.0


@dataclass
class SimulatedFilterbank:
    """Data of shape ``(nchans, n_time)`` (file units), the candidate table (with truth),
    and the header keywords (``tsamp``, ``fch1``, ``foff``)."""

    data: np.ndarray
    candidates: pd.DataFrame
    header: dict


def _assign(n: int, rng) -> np.ndarray:
    counts = np.floor(np.array(_MIX) * n).astype(int)
    for i in np.argsort(-np.array(_MIX))[: n - counts.sum()]:
        counts[i] += 1
    cls = np.repeat(np.array(CLASSES), counts)
    return rng.permutation(cls)


def _pulse(freqs, tsamp, t_rel, dm, fwhm, tau_1ghz, spectrum, n_loc):
    """Unit-S/N dispersed pulse on a local grid: (nchans, n_loc); t_rel = start-relative
    arrival time at the top of the band (s)."""
    t = np.arange(n_loc) * tsamp
    arr = t_rel + dispersion_delay(dm, freqs)  # (nchans,)
    sig = max(fwhm / 2.3548, 0.5 * tsamp)
    g = np.exp(-0.5 * ((t[None, :] - arr[:, None]) / sig) ** 2)
    if tau_1ghz > 0:
        tau = tau_1ghz * (freqs / 1000.0) ** -4.0
        kern_t = np.arange(n_loc) * tsamp
        kern = np.exp(-kern_t[None, :] / tau[:, None])
        kern /= kern.sum(axis=1, keepdims=True)
        nfft = 2 * n_loc
        g = np.fft.irfft(np.fft.rfft(g, nfft) * np.fft.rfft(kern, nfft), nfft)[:, :n_loc]
    p = g * spectrum[:, None]
    return p / np.sqrt(np.sum(p ** 2))


def simulate_filterbank(n: int = 50, *, seed: int = 0, nchans: int = 256,
                        fch1: float = 1500.0, foff: float = -1.0, tsamp: float = 1e-3,
                        slot_s: float = 2.5, dm_range: tuple = (30.0, 600.0),
                        snr_range: tuple = (10.0, 40.0)) -> SimulatedFilterbank:
    """Make the data and the candidate list (see the module docstring).

    Parameters
    ----------
    n : int
        Number of events (= candidates, = slots).
    nchans, fch1, foff, tsamp :
        Channels, first channel and channel step (MHz), sampling time (s).
    slot_s : float
        Seconds per event; must hold the candidate window and the sweep at twice the DM.
    dm_range : (float, float)
        DMs of FRBs and the pulsar, pc cm^-3.
    snr_range : (float, float)
        Injected S/N of FRBs and pulsar pulses.

    Returns
    -------
    SimulatedFilterbank
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = np.random.default_rng(seed)
    freqs = fch1 + foff * np.arange(nchans)
    fc = float(np.mean(freqs))
    n_slot = int(round(slot_s / tsamp))
    sweep_max = float(dispersion_delay(2 * dm_range[1], freqs).max())
    lead = 0.55
    if lead + 0.6 + sweep_max > slot_s:
        raise ValueError(f"slot_s={slot_s} s is too short for DMs up to {dm_range[1]} "
                         f"(needs {lead + 0.6 + sweep_max:.2f} s)")
    classes = _assign(n, rng)
    gain = 1.0 + 0.15 * np.sin(np.linspace(0, 3 * np.pi, nchans) + rng.uniform(0, 6))
    data = np.empty((nchans, n * n_slot), np.uint8)
    psr_p = rng.uniform(0.25, 0.42)
    psr_dm = rng.uniform(*dm_range)
    psr_w = rng.uniform(0.002, 0.006)
    psr_t0 = rng.uniform(0, psr_p)
    psr_alpha = rng.uniform(-2.0, -1.0)
    rows = []
    for k in range(n):
        cls = str(classes[k])
        x = rng.standard_normal((nchans, n_slot), dtype=np.float32)
        T = k * slot_s
        t_c = lead + rng.uniform(0.0, 0.25)  # slot-relative arrival at the top of the band
        rec = {"truth": cls, "true_dm": np.nan, "true_time_s": np.nan, "true_width_s": np.nan,
               "spectral_index": np.nan, "scatter_ms_1ghz": np.nan, "period_s": np.nan,
               "injected_snr": np.nan}
        if cls in ("frb", "pulsar"):
            if cls == "frb":
                dm = rng.uniform(*dm_range)
                fwhm = rng.uniform(0.001, 0.008)
                tau = rng.choice([0.0, rng.uniform(0.5e-3, 4e-3)])
                alpha = rng.uniform(-3.0, 3.0)
                spec = (freqs / fc) ** alpha
                if rng.random() < 0.5:
                    scint = np.convolve(rng.exponential(1.0, nchans + 16), np.ones(8) / 8,
                                        "same")[8:nchans + 8]
                    spec = spec * scint
                snr = rng.uniform(*snr_range)
                times = [t_c]
                snrs = [snr]
            else:
                dm, fwhm, tau, alpha = psr_dm, psr_w, 0.0, psr_alpha
                spec = (freqs / fc) ** alpha
                k0 = int(np.ceil((T + 0.05 - psr_t0) / psr_p))
                k1 = int(np.floor((T + slot_s - 0.05 - float(dispersion_delay(dm, freqs).max())
                                   - psr_t0) / psr_p))
                times = [psr_t0 + j * psr_p - T for j in range(k0, k1 + 1)]
                inwin = [t for t in times if lead <= t <= lead + 0.42]
                t_c = inwin[0] if inwin else times[len(times) // 2]
                snrs = list(rng.uniform(*snr_range) * rng.lognormal(0, 0.25, len(times)))
                snr = snrs[times.index(t_c)]
                rec["period_s"] = psr_p
            n_loc = int((0.05 + float(dispersion_delay(dm, freqs).max()) + 10 * fwhm
                         + 12 * tau * (freqs.min() / 1000) ** -4) / tsamp)
            for tt, ss in zip(times, snrs):
                s0 = max(0, int((tt - 0.02) / tsamp))
                m = min(n_loc, n_slot - s0)
                x[:, s0:s0 + m] += ss * _pulse(freqs, tsamp, tt - s0 * tsamp, dm, fwhm, tau,
                                               spec, n_loc)[:, :m]
            rec.update(true_dm=dm, true_width_s=fwhm, spectral_index=alpha,
                       scatter_ms_1ghz=tau * 1e3, injected_snr=snr)
            w_rep = 2.0 ** np.round(np.log2(max(fwhm / tsamp, 1))) * tsamp
            cand = {"time_s": T + t_c + rng.normal(0, 0.25 * fwhm),
                    "dm": dm * (1 + rng.normal(0, 0.01)), "width_s": w_rep,
                    "snr": snr * rng.uniform(0.8, 1.0)}
        elif cls == "rfi_broadband":
            w = rng.uniform(0.001, 0.005)
            spec = np.abs(1 + 0.5 * np.convolve(rng.standard_normal(nchans + 32),
                                                np.ones(16) / 4, "same")[16:nchans + 16])
            snr = rng.uniform(20, 60)
            t = np.arange(n_slot) * tsamp
            g = np.exp(-0.5 * ((t - t_c) / (w / 2.3548)) ** 2)
            p = spec[:, None] * g[None, :]
            x += (snr / np.sqrt(np.sum(p ** 2)) * p).astype(np.float32)
            rec.update(true_dm=0.0, true_width_s=w, injected_snr=snr)
            cand = {"time_s": T + t_c, "dm": rng.uniform(1.0, 40.0),
                    "width_s": 2.0 ** np.round(np.log2(max(w / tsamp, 1))) * tsamp,
                    "snr": rng.uniform(7, 15)}
        elif cls == "rfi_narrowband":
            c0 = int(rng.integers(0, nchans - 6))
            nc = int(rng.integers(1, 6))
            t = np.arange(n_slot) * tsamp
            mod = 1 + np.sin(2 * np.pi * t / rng.uniform(0.01, 0.2))
            x[c0:c0 + nc] += (rng.uniform(2, 5) * mod).astype(np.float32)
            rec.update(rfi_channels=f"{c0}-{c0 + nc - 1}")
            cand = {"time_s": T + t_c, "dm": rng.uniform(*dm_range),
                    "width_s": tsamp * 2 ** int(rng.integers(0, 3)), "snr": rng.uniform(7, 12)}
        else:
            cand = {"time_s": T + t_c, "dm": rng.uniform(*dm_range),
                    "width_s": tsamp * 2 ** int(rng.integers(0, 3)), "snr": rng.uniform(6, 8)}
        if cls != "noise":
            rec["true_time_s"] = T + t_c
        data[:, k * n_slot:(k + 1) * n_slot] = np.clip(
            np.rint(_LEVEL + _SCALE * gain[:, None] * x), 0, 255).astype(np.uint8)
        rows.append({**cand, **rec})
    cands = pd.DataFrame(rows)
    if "rfi_channels" not in cands:
        cands["rfi_channels"] = pd.NA
    return SimulatedFilterbank(data, cands, {"tsamp": tsamp, "fch1": fch1, "foff": foff})


def simulate_transients(out, n: int = 50, *, seed: int = 0, overwrite: bool = False,
                        progress: bool = False, **kwargs):
    """Write a simulated filterbank, its candidate list and the Collection of their images.

    Layout: the Collection at ``out``, the inputs in ``out/sources/transients.fil`` and
    ``out/sources/candidates.csv`` (columns ``time_s, dm, width_s, snr`` as a search reports
    them, then the ground truth: ``truth``, ``true_dm``, ``true_time_s``, ...). The
    Collection's catalog carries every column, so ``coll.catalog["truth"]`` is the class.

    Parameters
    ----------
    out : path-like
    n, seed, **kwargs
        See :func:`simulate_filterbank`.

    Returns
    -------
    IngestReport
    """
    sim = simulate_filterbank(n, seed=seed, **kwargs)
    with new_folder(out):
        coll = Collection.create(out, transient_products(), overwrite=overwrite,
                                 description=f"simulated transients (n={n}, seed={seed})")
        src = coll.path / "sources"  # built beside out, swapped in with it
        src.mkdir()
        fil = write_filterbank(src / "transients.fil", sim.data, nbits=8,
                               source_name=f"workbench-sim-seed{seed}", **sim.header)
        csv = src / "candidates.csv"
        sim.candidates.to_csv(csv, index=False, float_format="%.9g")
        rep = ingest_filterbank(fil, csv, coll, width_unit="s", errors="raise",
                                progress=progress)
    rep.path = str(out)  # the report named the build folder; now the Collection is at out
    return rep
