"""Geometry of simulated radio sources: one generator per morphological class.

Every generator returns a :class:`SourceModel` in host-relative pixel coordinates, built from

- Gaussian components, array ``(K, 7)``: ``[weight, dx, dy, sigma_major, sigma_minor, theta,
  group]`` (intrinsic sizes in pixels, before the restoring beam; ``theta`` in radians from
  the +x pixel axis, counter-clockwise);
- shells, array ``(M, 10)``: ``[weight, dx, dy, r_outer, r_inner, asym, asym_angle, q,
  q_angle, group]``: a projected, optically thin spherical shell (limb-brightened ring,
  supernova-remnant-like) with a ``1 + asym*cos(phi - asym_angle)`` brightness modulation,
  squashed by the axis ratio ``q`` along ``q_angle``.

Weights sum to 1 over a source (the flux is set later). ``group`` numbers the physical parts
that become the labels of the ``truth_components`` masks (0 is background):

=========  =====================================================================
class      groups
=========  =====================================================================
compact    1 source
FRI        1 core, 2 jet A, 3 jet B (edge-darkened: brightest near the core)
FRII       1 core, 2 lobe A (with hotspot), 3 lobe B (edge-brightened)
bent       1 core, 2 tail A, 3 tail B (wide/narrow-angle tail)
ring       1 shell, 2 central compact source (when present)
multi      1 core (when present), 2.. separate islands
artefact   1 bright compact source, 2 sidelobe rings/stripes (imaging artefact)
=========  =====================================================================

Fanaroff & Riley 1974 (MNRAS 167, 31P): the ratio of the separation of the brightest
regions on either side of the core to the total extent is below 0.5 for class I (FRI) and
above 0.5 for class II (FRII).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["CLASSES", "SourceModel", "GENERATORS", "fit_inside"]

CLASSES = ("compact", "FRI", "FRII", "bent", "ring", "multi", "artefact")

#: log10 range of the peak signal-to-noise (noiseless peak / rms) per class.
SNR_RANGE = {"compact": (np.log10(8), np.log10(300)), "FRI": (np.log10(25), np.log10(600)),
             "FRII": (np.log10(25), np.log10(600)), "bent": (np.log10(25), np.log10(600)),
             "ring": (np.log10(15), np.log10(300)), "multi": (np.log10(20), np.log10(400)),
             "artefact": (np.log10(1500), np.log10(30000))}


@dataclass
class SourceModel:
    """One source in host-relative pixel coordinates (see the module docstring)."""

    cls: str
    gauss: np.ndarray
    shells: np.ndarray = field(default_factory=lambda: np.zeros((0, 10)))
    axis: float = float("nan")  #: main axis, radians from +x (FRI/FRII/bent), else NaN
    artefact: dict | None = None  #: sidelobe pattern parameters (artefact class)
    extra: dict = field(default_factory=dict)  #: class-specific truth (e.g. opening angle)

    def normalise(self) -> SourceModel:
        total = self.gauss[:, 0].sum() + self.shells[:, 0].sum()
        self.gauss[:, 0] /= total
        self.shells[:, 0] /= total
        return self

    def radius(self) -> float:
        """Distance (px) from the host that holds the source (2.5 sigma of every component)."""
        r = 0.0
        if len(self.gauss):
            r = float(np.max(np.hypot(self.gauss[:, 1], self.gauss[:, 2]) + 2.5 * self.gauss[:, 3]))
        if len(self.shells):
            s = self.shells
            r = max(r, float(np.max(np.hypot(s[:, 1], s[:, 2]) + s[:, 3])))
        return r

    def scale(self, f: float) -> SourceModel:
        """Shrink (f < 1) positions and sizes about the host."""
        self.gauss[:, 1:5] *= f
        self.shells[:, 1:5] *= f
        if self.artefact is not None:
            self.artefact["r0"] *= f
        return self


def fit_inside(src: SourceModel, reach: float) -> SourceModel:
    """Scale a source down so that :meth:`SourceModel.radius` is at most ``reach`` pixels."""
    r = src.radius()
    if r > reach > 0:
        src.scale(reach / r)
    return src


def _g(w, x, y, smaj, smin, theta, group) -> np.ndarray:
    """Stack Gaussian component columns (broadcast) into an ``(K, 7)`` array."""
    cols = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, float))
                                 for v in (w, x, y, smaj, smin, theta, group)))
    return np.stack(cols, axis=1)


def _point(rng, sb, w, group, x=0.0, y=0.0, max_frac=0.3):
    smaj = rng.uniform(0.0, max_frac) * sb
    return _g(w, x, y, smaj, smaj * rng.uniform(0.5, 1.0), rng.uniform(0, np.pi), group)


def compact(rng, sb, reach):
    """Unresolved (or barely resolved) source: intrinsic size below ~0.35 beam sigma."""
    return SourceModel("compact", _point(rng, sb, 1.0, 1, max_frac=0.35)).normalise()


def _jet(rng, sb, length, angle, d_peak, opening, group, *, curvature=0.0, wiggle=0.0):
    """Knots along a (slightly curved) jet whose flux per unit length peaks at ``d_peak``
    (px) and then fades; the jet widens with the opening angle (radians)."""
    n = int(np.clip(length / (0.7 * sb), 6, 40))
    d = np.linspace(0.8 * sb, length, n)
    step = d[1] - d[0]
    prof = (d / d_peak) ** 1.5 * np.exp(1.5 * (1.0 - d / d_peak))
    lateral = 0.5 * curvature * d**2 + wiggle * np.sin(2 * np.pi * d / rng.uniform(0.4, 1.0)
                                                       / length + rng.uniform(0, 2 * np.pi))
    ux, uy = np.cos(angle), np.sin(angle)
    x = d * ux - lateral * uy
    y = d * uy + lateral * ux
    tang = angle + np.arctan(curvature * d)
    perp = 0.3 * sb + np.tan(opening / 2) * d
    along = np.maximum(0.8 * step, 0.3 * sb)
    return _g(prof * step, x, y, np.maximum(along, perp), np.minimum(along, perp),
              np.where(along >= perp, tang, tang + np.pi / 2), group)


def fri(rng, sb, reach):
    """Edge-darkened twin jets (FRI): brightest close to the core, fading outwards."""
    axis = rng.uniform(0, 2 * np.pi)
    length = reach * rng.uniform(0.5, 0.95)
    core_w = rng.uniform(0.05, 0.2)
    split = rng.uniform(0.5, 0.75)  # jet / counter-jet flux (Doppler boosting)
    parts = [_point(rng, sb, core_w, 1)]
    for side, (group, frac) in enumerate(((2, split), (3, 1 - split))):
        L = length * rng.uniform(0.8, 1.0)
        jet = _jet(rng, sb, L, axis + side * np.pi, max(1.5 * sb, L * rng.uniform(0.1, 0.22)),
                   np.radians(rng.uniform(12, 35)), group,
                   curvature=rng.uniform(-1, 1) * 0.15 / L, wiggle=rng.uniform(0, 0.04) * L)
        jet[:, 0] *= (1 - core_w) * frac / jet[:, 0].sum()
        parts.append(jet)
    return SourceModel("FRI", np.concatenate(parts), axis=axis).normalise()


def frii(rng, sb, reach):
    """Edge-brightened double (FRII): lobes ending in compact hotspots, a faint core."""
    axis = rng.uniform(0, 2 * np.pi)
    length = reach * rng.uniform(0.55, 0.95)
    core_w = rng.uniform(0.005, 0.04)
    split = rng.uniform(0.4, 0.6)
    parts = [_point(rng, sb, core_w, 1)]
    for side, (group, frac) in enumerate(((2, split), (3, 1 - split))):
        L = length * (1.0 if side == 0 else rng.uniform(0.75, 1.0))
        ang = axis + side * np.pi + rng.uniform(-0.12, 0.12)
        ux, uy = np.cos(ang), np.sin(ang)
        hs_w = rng.uniform(0.3, 0.5)
        d_hs = L * rng.uniform(0.93, 1.0)
        hs = _point(rng, sb, hs_w, group, d_hs * ux, d_hs * uy, max_frac=0.6)
        nl = 4
        d = np.linspace(0.5, 0.9, nl) * L
        lat = rng.uniform(-0.04, 0.04, nl) * L
        width = rng.uniform(0.1, 0.2) * L
        w = (d / L) ** 2
        lobe = _g(w / w.sum() * (1 - hs_w), d * ux - lat * uy, d * uy + lat * ux,
                  np.maximum(0.14 * L, sb), np.maximum(width, 0.8 * sb) * rng.uniform(0.8, 1.2, nl),
                  ang, group)
        if lobe[0, 3] < lobe[0, 4]:  # keep sigma_major >= sigma_minor
            lobe[:, [3, 4]] = lobe[:, [4, 3]]
            lobe[:, 5] += np.pi / 2
        side_parts = [hs, lobe]
        if rng.random() < 0.3:  # a faint jet feeding the hotspot
            jet = _jet(rng, sb, 0.85 * L, ang, 0.4 * L, np.radians(3), group)
            jet[:, 0] *= 0.03 / jet[:, 0].sum()
            side_parts.append(jet)
        block = np.concatenate(side_parts)
        block[:, 0] *= (1 - core_w) * frac / block[:, 0].sum()
        parts.append(block)
    return SourceModel("FRII", np.concatenate(parts), axis=axis).normalise()


def bent(rng, sb, reach):
    """Wide- or narrow-angle tail: jets leave the core in opposite directions and are swept
    back towards a common tail direction (ram pressure of the cluster gas)."""
    psi = rng.uniform(0, 2 * np.pi)  # direction the tails are swept to
    length = reach * rng.uniform(0.6, 0.95)
    s_bend = length * rng.uniform(0.12, 0.6)
    theta0 = psi + np.pi / 2 + rng.uniform(-0.5, 0.5)
    core_w = rng.uniform(0.05, 0.2)
    split = rng.uniform(0.45, 0.65)
    parts = [_point(rng, sb, core_w, 1)]
    ends = []
    for side, (group, frac) in enumerate(((2, split), (3, 1 - split))):
        L = length * rng.uniform(0.85, 1.0)
        n = int(np.clip(L / (0.6 * sb), 8, 50))
        s = np.linspace(0, L, n + 1)
        step = s[1] - s[0]
        start = theta0 + side * np.pi
        delta = (start - psi + np.pi) % (2 * np.pi) - np.pi
        direction = psi + delta * np.exp(-s / s_bend)
        x = np.cumsum(np.cos(direction)) * step
        y = np.cumsum(np.sin(direction)) * step
        s = s + step
        prof = np.minimum(1.0, s / (2 * sb)) * np.exp(-s / (rng.uniform(0.4, 0.8) * L))
        perp = 0.4 * sb + np.tan(np.radians(rng.uniform(6, 16))) * s
        along = np.full_like(s, max(0.8 * step, 0.3 * sb))
        comp = _g(prof, x, y, np.maximum(along, perp), np.minimum(along, perp),
                  np.where(along >= perp, direction, direction + np.pi / 2), group)
        comp[:, 0] *= (1 - core_w) * frac / comp[:, 0].sum()
        parts.append(comp)
        ends.append(np.array([x[-1], y[-1]]))
    a, b = ends
    opening = np.degrees(np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1)))
    return SourceModel("bent", np.concatenate(parts), axis=psi,
                       extra={"opening_angle_deg": float(opening)}).normalise()


def ring(rng, sb, reach):
    """Diffuse, limb-brightened shell (supernova-remnant-like), sometimes with a central
    compact source."""
    r_out = max(3 * sb, reach * rng.uniform(0.3, 0.85))
    r_in = r_out * (1 - rng.uniform(0.06, 0.25))
    shells = np.array([[1.0, 0.0, 0.0, r_out, r_in, rng.uniform(0, 0.7), rng.uniform(0, 2 * np.pi),
                        rng.uniform(0.75, 1.0), rng.uniform(0, np.pi), 1]])
    gauss = _point(rng, sb, rng.uniform(0.02, 0.1), 2) if rng.random() < 0.3 else np.zeros((0, 7))
    return SourceModel("ring", gauss, shells).normalise()


def multi(rng, sb, reach):
    """A source made of several separate islands (e.g. lobes detached from the core)."""
    k = int(rng.integers(2, 4))
    a0 = rng.uniform(0, 2 * np.pi)
    if k == 2:
        angles = np.array([a0, a0 + np.pi + rng.uniform(-0.5, 0.5)])
    else:
        angles = a0 + np.cumsum(np.r_[0, rng.uniform(np.radians(70), np.radians(150), k - 1)])
    d = reach * rng.uniform(0.4, 0.9, k)
    smaj = rng.uniform(0.3, 2.0, k) * sb
    isl = _g(rng.uniform(0.3, 1.0, k), d * np.cos(angles), d * np.sin(angles), smaj,
             smaj * rng.uniform(0.5, 1.0, k), rng.uniform(0, np.pi, k), 2 + np.arange(k))
    parts = [isl]
    if rng.random() < 0.6:
        parts.insert(0, _point(rng, sb, rng.uniform(0.03, 0.2) * isl[:, 0].sum(), 1))
    return SourceModel("multi", np.concatenate(parts), extra={"n_islands": k}).normalise()


def artefact(rng, sb, reach):
    """A bright compact source with sidelobe rings and/or stripes (residual imaging errors).

    The pattern amplitude is relative to the source's peak; it is zero-mean and suppressed
    within two beam FWHM of the source.
    """
    src = SourceModel("artefact", _point(rng, sb, 1.0, 1, max_frac=0.3))
    kind = ("rings", "stripes", "both")[int(rng.integers(0, 3))]
    src.artefact = {
        "kind": kind, "amp": float(10 ** rng.uniform(np.log10(0.003), np.log10(0.02))),
        "wavelength": float(rng.uniform(3.0, 7.0) * sb), "r0": float(reach * rng.uniform(0.4, 1.0)),
        "spokes": int(rng.choice([0, 3, 6])), "spoke_phase": float(rng.uniform(0, 2 * np.pi)),
        "stripe_angle": float(rng.uniform(0, np.pi)),
        "stripe_wavelength": float(rng.uniform(2.5, 6.0) * sb),
        "core": float(2 * 2.3548 * sb),
    }
    src.extra = {"artefact_kind": kind}
    return src.normalise()


GENERATORS = {"compact": compact, "FRI": fri, "FRII": frii, "bent": bent, "ring": ring,
              "multi": multi, "artefact": artefact}
