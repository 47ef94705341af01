"""Synthetic and real ICU cohorts with sensitive attributes."""

from healthbalance.datasets._icu_cohort import make_icu_cohort
from healthbalance.datasets._mimic import load_mimic_iv

__all__ = ["load_mimic_iv", "make_icu_cohort"]
