"""Blind labeling: which catalog columns an annotator may see beside the images.

A label is only worth having if the person giving it did not read the answer off the
screen. Two rules decide what an annotator sees besides the images:

* **In a campaign**, exactly the campaign's ``show_columns``: by default the item's ``id``
  and, where the catalog has them, ``ra`` and ``dec`` (:data:`CAMPAIGN_DEFAULT`); a campaign
  lead opts more in (``workbench campaign create ... --show flux_jy,snr``).
* **In a notebook without a campaign**, every catalog column except those that give the
  answer away (:func:`is_hidden`): truths, labels, predictions, probabilities, scores,
  clusters and outlier ranks, consensus, and the parameters the workbench's own simulators
  draw (:data:`SIMULATOR_COLUMNS`). ``show=`` overrides the rule with an explicit list.

Column names are compared case-insensitively. The rule is a list of names and name
patterns, nothing more: a column it does not know about is shown in a notebook, so a
campaign (which shows only what it lists) is the way to label blind for real.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["CAMPAIGN_DEFAULT", "HIDDEN_PATTERNS", "SIMULATOR_COLUMNS", "is_hidden",
           "shown_columns"]

#: What a campaign shows when its lead lists nothing: the id and the sky position.
CAMPAIGN_DEFAULT = ("id", "ra", "dec")

#: Regular expressions (full match, lower case) of columns that give the answer away.
HIDDEN_PATTERNS = (
    r".*truth.*", r"true_.*", r".*_true",                      # what a simulator put in
    r"label.*", r".*_label", r".*labels?",                     # someone's labels
    r"consensus.*", r".*_consensus",
    r"pred.*", r".*_pred", r".*prediction.*",                  # a model's opinion
    r"prob.*", r".*_prob", r"p_.*", r".*probability.*",
    r"score.*", r".*_score", r".*scores?",
    r"cluster.*", r"anomaly.*", r"outlier.*", r".*_outlier", r"glosh.*",
    r"class", r"class_.*", r".*_class", r"category", r"target", r"grade", r"is_lens",
    r"injected_.*", r"sim_.*",
)

#: Catalog columns the workbench's simulators write that describe the truth (morphology
#: parameters, true hosts, lens and source models, injected signals). Observables such as
#: ``flux_jy``, ``snr``, ``dm`` or the PSF and noise are not here.
SIMULATOR_COLUMNS = frozenset({
    # workbench simulate radio / radio-mosaic
    "host_x", "host_y", "host_ra", "host_dec", "fr_ratio", "size_arcsec", "axis_deg",
    "opening_angle_deg", "n_islands", "artefact_kind", "has_ir_host",
    # workbench simulate transients
    "spectral_index", "scatter_ms_1ghz", "period_s", "rfi_channels",
    # workbench simulate lenses
    "theta_e_arcsec", "lens_q", "lens_phi_deg", "shear_gamma1", "shear_gamma2",
    "lens_x_arcsec", "lens_y_arcsec", "magnification", "source_snr", "source_x_arcsec",
    "source_y_arcsec", "source_reff_arcsec", "source_n", "source_q", "source_phi_deg",
    "source_mag_r", "source_g_r", "source_r_i", "galaxy_reff_arcsec", "galaxy_q",
    "galaxy_n", "galaxy_phi_deg", "galaxy_mag_r", "galaxy_bulge_fraction",
    "galaxy_ring_radius_arcsec", "galaxy_companion_sep_arcsec", "n_field_galaxies",
    "has_star",
})

_HIDDEN = re.compile("|".join(f"(?:{p})" for p in HIDDEN_PATTERNS))


def is_hidden(column: str) -> bool:
    """True if ``column`` would give the answer away (see the module docstring)."""
    name = str(column).strip().lower()
    return name in SIMULATOR_COLUMNS or _HIDDEN.fullmatch(name) is not None


def shown_columns(columns: Iterable[str], show: Iterable[str] | None = None, *,
                  campaign: bool = False) -> list[str]:
    """The columns of ``columns`` (catalog order) an annotator sees.

    ``show`` (a campaign's ``show_columns``, or a notebook's ``show=``) is an explicit
    list: exactly those of its names that exist are shown (``id`` always). Without one, a
    campaign shows :data:`CAMPAIGN_DEFAULT` and a notebook every column that
    :func:`is_hidden` lets through.
    """
    columns = [str(c) for c in columns]
    if show is None and campaign:
        show = CAMPAIGN_DEFAULT
    if show is not None:
        want = {str(s) for s in show} | {"id"}
        return [c for c in columns if c in want]
    return [c for c in columns if not is_hidden(c)]
