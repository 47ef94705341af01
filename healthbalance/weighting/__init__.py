"""Group-aware sample weights."""

from healthbalance.weighting._group_weights import compute_group_weights
from healthbalance.weighting._reweighter import GroupReweighter

__all__ = ["GroupReweighter", "compute_group_weights"]
