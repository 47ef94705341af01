"""Per-group evaluation metrics and reports."""

from healthbalance.metrics._group_report import SmallGroupWarning, group_report
from healthbalance.metrics._report import GroupReport

__all__ = ["GroupReport", "SmallGroupWarning", "group_report"]
