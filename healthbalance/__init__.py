"""healthbalance: imbalance-aware and subgroup-aware learning for health data."""

from healthbalance._sensitive import NoSensitiveFeaturesWarning

__version__ = "0.1.0.dev0"

__all__ = ["NoSensitiveFeaturesWarning", "__version__"]
