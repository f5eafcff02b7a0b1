"""Time-aware geography: which zones hold a point at a time, who controls it, how far the line
of contact is, and where it lies relative to the nearest settlement."""

from ceasefire.geo.engine import Enricher, Enrichment

__all__ = ["Enricher", "Enrichment"]
