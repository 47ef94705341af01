"""healthbalance: imbalance-aware and subgroup-aware learning for health data."""

from healthbalance._prior import MissingGroupsWarning, UnseenGroupWarning
from healthbalance._sensitive import NoSensitiveFeaturesWarning

__version__ = "0.1.0.dev0"

__all__ = [
    "MissingGroupsWarning",
    "NoSensitiveFeaturesWarning",
    "UnseenGroupWarning",
    "__version__",
]
