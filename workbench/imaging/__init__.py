"""Imaging layer: pure functions on arrays (stretches, composites, contours and islands,
per-side morphology, dedispersion, lensing). Imports core only; no torch, no widget or plot
library at import."""
