"""Subgroup-aware meta-estimators and models."""

from healthbalance._prior import MissingGroupsWarning, UnseenGroupWarning
from healthbalance.training._group_dro import GroupDROClassifier
from healthbalance.training._group_dro_logistic import GroupDROLogisticRegression
from healthbalance.training._jtt import JTTClassifier
from healthbalance.training._resampled import ResampledClassifier
from healthbalance.training._reweighted import ReweightedClassifier
from healthbalance.training._thresholds import GroupThresholdClassifier

__all__ = [
    "GroupDROClassifier",
    "GroupDROLogisticRegression",
    "GroupThresholdClassifier",
    "JTTClassifier",
    "MissingGroupsWarning",
    "ResampledClassifier",
    "ReweightedClassifier",
    "UnseenGroupWarning",
]
