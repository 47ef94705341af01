"""Per-group evaluation: every metric per group and intersection, with honest CIs.

- :func:`group_report` -> :class:`GroupReport`: metrics per group with paired
  bootstrap intervals, disparities with paired intervals, worst group, plots.
- :func:`decision_curve` -> :class:`DecisionCurve`: net benefit per group at many
  thresholds with paired bootstrap intervals, treat-all, differences between models.
- :func:`calibration_by_group` -> :class:`CalibrationCurves`: smooth (loess,
  spline) or binned calibration curves per group with pointwise bootstrap bands.
- :func:`compare_models`: paired bootstrap differences between models, per group.
- :func:`representation_report`: group shares against a reference population and
  the patients needed for a target precision.
- :func:`export_statistics`, :func:`combine_statistics` -> :class:`GroupStatistics`:
  evaluation across sites that cannot share rows (federated), on
  :func:`make_bin_edges`.
- :func:`make_group_scorer`: group-aware ``scoring=`` for model selection. Groups
  reach it through metadata routing::

      import sklearn
      sklearn.set_config(enable_metadata_routing=True)
      search = GridSearchCV(model, grid, scoring=make_group_scorer("roc_auc"))
      search.fit(X, y, sensitive_features=race)

  or, without routing, from columns of ``X`` (``sensitive_columns="race"``).
"""

from healthbalance.metrics._calibration_curves import (
    CalibrationCurves,
    calibration_by_group,
)
from healthbalance.metrics._compare import compare_models
from healthbalance.metrics._decision_curve import decision_curve
from healthbalance.metrics._decision_frame import DecisionCurve
from healthbalance.metrics._federated import make_bin_edges
from healthbalance.metrics._group_report import SmallGroupWarning, group_report
from healthbalance.metrics._report import GroupReport
from healthbalance.metrics._representation import representation_report
from healthbalance.metrics._scorer import make_group_scorer
from healthbalance.metrics._statistics import (
    GroupStatistics,
    combine_statistics,
    export_statistics,
)

__all__ = [
    "CalibrationCurves",
    "DecisionCurve",
    "GroupReport",
    "GroupStatistics",
    "SmallGroupWarning",
    "calibration_by_group",
    "combine_statistics",
    "compare_models",
    "decision_curve",
    "export_statistics",
    "group_report",
    "make_bin_edges",
    "make_group_scorer",
    "representation_report",
]
