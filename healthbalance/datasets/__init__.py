"""Synthetic and real ICU cohorts with sensitive attributes."""

from healthbalance.datasets._icu_cohort import make_icu_cohort

__all__ = ["make_icu_cohort"]
