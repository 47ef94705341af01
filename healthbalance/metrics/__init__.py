"""Per-group evaluation metrics and reports."""

from healthbalance.metrics._compare import compare_models
from healthbalance.metrics._group_report import SmallGroupWarning, group_report
from healthbalance.metrics._report import GroupReport
from healthbalance.metrics._representation import representation_report
from healthbalance.metrics._scorer import make_group_scorer

__all__ = [
    "GroupReport",
    "SmallGroupWarning",
    "compare_models",
    "group_report",
    "make_group_scorer",
    "representation_report",
]
