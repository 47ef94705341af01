"""Group-aware resamplers."""

from healthbalance.resampling._group_balanced import GroupBalancedSampler
from healthbalance.resampling._group_smote import GroupSMOTE, SmallCellWarning
from healthbalance.resampling._targets import (
    EmptyCellWarning,
    HeavyUndersamplingWarning,
)

__all__ = [
    "EmptyCellWarning",
    "GroupBalancedSampler",
    "GroupSMOTE",
    "HeavyUndersamplingWarning",
    "SmallCellWarning",
]
