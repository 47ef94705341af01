"""Subgroup-aware meta-estimators and models."""

from healthbalance.training._prior_correction import MissingGroupsWarning
from healthbalance.training._resampled import ResampledClassifier
from healthbalance.training._reweighted import ReweightedClassifier

__all__ = ["MissingGroupsWarning", "ResampledClassifier", "ReweightedClassifier"]
