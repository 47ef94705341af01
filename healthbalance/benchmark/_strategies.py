"""The training strategies the benchmark compares, each with its hyperparameter grid.

A strategy turns a base classifier into the estimator to fit. Every estimator built
here is fitted as ``fit(X, y)`` or ``fit(X, y, sensitive_features=...)`` on already
preprocessed numeric features (see ``_models.py``); ``Strategy.fit_groups`` says
which. ``predict`` and ``predict_proba`` get the groups when they take them.
"""

from dataclasses import dataclass, field

from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import EqualizedOdds, ExponentiatedGradient
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted

from healthbalance._compat import pmf_predict
from healthbalance.resampling import GroupBalancedSampler, GroupSMOTE
from healthbalance.training import (
    GroupDROClassifier,
    GroupDROLogisticRegression,
    GroupThresholdClassifier,
    JTTClassifier,
    ResampledClassifier,
    ReweightedClassifier,
)


@dataclass(frozen=True)
class Strategy:
    """A named way of training, as the benchmark runs it.

    Parameters
    ----------
    name : str
        Short name used on the command line and in the results.
    description : str
        One line saying what it does.
    build : callable
        ``build(base, params, random_state)`` returns the estimator to fit, where
        ``base`` is an unfitted base classifier.
    grid : list of dict
        Strategy hyperparameters tried on validation (the first one in ``--quick``).
    fit_groups : bool
        Whether ``fit`` takes ``sensitive_features``.
    own_decisions : bool
        Whether the strategy makes its own decisions (``predict``), rather than the
        benchmark's single threshold chosen on validation.
    models : tuple of str
        Base models the strategy applies to.
    family : str
        The kind of strategy, grouping it with its peers in the report.
    probabilities : bool
        Whether its scores are risks, so that calibration applies; fairlearn's
        mitigators score the probability of a randomized decision instead.
    cost : dict of str to float
        Fit seconds of one setting per base model in ``--quick`` (20,000 synthetic
        patients, one thread), measured once: only the progress bar's time estimate
        uses it, as weights (fit costs differ about 2,000-fold).
    """

    name: str
    description: str
    build: object
    grid: list = field(default_factory=lambda: [{}])
    fit_groups: bool = False
    own_decisions: bool = False
    models: tuple = ("logistic", "hgb")
    family: str = "plain training"
    probabilities: bool = True
    cost: dict = field(default_factory=lambda: {"logistic": 0.2, "hgb": 5.0})


class FairlearnAdapter(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Thin adapter giving fairlearn's mitigators ``predict_proba``.

    fairlearn's ``ExponentiatedGradient`` and ``ThresholdOptimizer`` return randomized
    decisions; their probability of predicting 1 (read through
    :func:`healthbalance._compat.pmf_predict`) is the score we evaluate, as their
    documentation recommends for ranking metrics.

    Parameters
    ----------
    mitigator : estimator
        An unfitted ``ExponentiatedGradient`` or ``ThresholdOptimizer``.
    random_state : int or None, default=None
        Seed of the randomized decisions of ``predict``.
    """

    def __init__(self, mitigator, random_state=None):
        self.mitigator = mitigator
        self.random_state = random_state

    def fit(self, X, y, *, sensitive_features):
        """Fit the mitigator with the groups."""
        mitigator = clone(self.mitigator)
        self.mitigator_ = mitigator.fit(X, y, sensitive_features=sensitive_features)
        return self

    def predict(self, X, *, sensitive_features):
        """Return the randomized decisions, seeded with ``random_state``."""
        check_is_fitted(self)
        if isinstance(self.mitigator_, ThresholdOptimizer):
            return self.mitigator_.predict(
                X, sensitive_features=sensitive_features, random_state=self.random_state
            )
        return self.mitigator_.predict(X, random_state=self.random_state)

    def predict_proba(self, X, *, sensitive_features):
        """Return the probability that the randomized classifier predicts each class."""
        check_is_fitted(self)
        return pmf_predict(self.mitigator_, X, sensitive_features=sensitive_features)


def _plain(base, params, random_state):
    return clone(base)


def _class_weight(base, params, random_state):
    return clone(base).set_params(class_weight="balanced")


def _imblearn(sampler_class, **kwargs):
    def build(base, params, random_state):
        return make_pipeline(
            sampler_class(random_state=random_state, **kwargs), clone(base)
        )

    return build


def _resampled(sampler_class, **kwargs):
    def build(base, params, random_state):
        sampler = sampler_class(random_state=random_state, **kwargs, **params)
        return ResampledClassifier(clone(base), sampler, prior_correction=True)

    return build


def _reweighing(base, params, random_state):
    return ReweightedClassifier(
        clone(base), strategy="reweighing", prior_correction=True
    )


def _group_dro_logistic(base, params, random_state):
    return GroupDROLogisticRegression(C=base.get_params().get("C", 1.0), **params)


def _group_dro(base, params, random_state):
    return GroupDROClassifier(clone(base), random_state=random_state, **params)


def _jtt(base, params, random_state):
    return JTTClassifier(clone(base), random_state=random_state, **params)


def _group_thresholds(base, params, random_state):
    return GroupThresholdClassifier(
        clone(base), objective="sensitivity", target=0.8, confidence=0.9
    )


def _exponentiated_gradient(base, params, random_state):
    mitigator = ExponentiatedGradient(clone(base), EqualizedOdds(), **params)
    return FairlearnAdapter(mitigator, random_state=random_state)


def _threshold_optimizer(base, params, random_state):
    mitigator = ThresholdOptimizer(
        estimator=clone(base),
        constraints="equalized_odds",
        objective="balanced_accuracy_score",
        predict_method="predict_proba",
    )
    return FairlearnAdapter(mitigator, random_state=random_state)


STRATEGIES = {
    s.name: s
    for s in [
        Strategy(
            "erm",
            "plain training (empirical risk minimisation)",
            _plain,
            cost={"logistic": 0.1, "hgb": 1.2},
        ),
        Strategy(
            "class_weight",
            "class_weight='balanced', no prior correction",
            _class_weight,
            family="class rebalancing",
            cost={"logistic": 0.06, "hgb": 6.3},
        ),
        Strategy(
            "random_over",
            "imblearn RandomOverSampler, no prior correction",
            _imblearn(RandomOverSampler),
            family="class rebalancing",
            cost={"logistic": 0.06, "hgb": 3.5},
        ),
        Strategy(
            "random_under",
            "imblearn RandomUnderSampler, no prior correction",
            _imblearn(RandomUnderSampler),
            family="class rebalancing",
            cost={"logistic": 0.03, "hgb": 1.1},
        ),
        Strategy(
            "smote",
            "imblearn SMOTE, no prior correction",
            _imblearn(SMOTE),
            family="class rebalancing",
            cost={"logistic": 0.16, "hgb": 5.7},
        ),
        Strategy(
            "group_over",
            "GroupBalancedSampler over (group x class) cells, prior-corrected",
            _resampled(GroupBalancedSampler, method="over"),
            grid=[{"target": "joint"}, {"target": "class_within_group"}],
            fit_groups=True,
            family="group rebalancing",
            cost={"logistic": 0.54, "hgb": 16.5},
        ),
        Strategy(
            "group_under",
            "GroupBalancedSampler under-sampling cells, prior-corrected",
            _resampled(GroupBalancedSampler, method="under"),
            grid=[{"target": "joint"}, {"target": "groups"}],
            fit_groups=True,
            family="group rebalancing",
            cost={"logistic": 0.04, "hgb": 0.6},
        ),
        Strategy(
            "group_smote",
            "GroupSMOTE within each group, prior-corrected",
            _resampled(GroupSMOTE),
            fit_groups=True,
            family="group rebalancing",
            cost={"logistic": 0.36, "hgb": 3.9},
        ),
        Strategy(
            "reweighing",
            "Kamiran-Calders reweighing, prior-corrected",
            _reweighing,
            fit_groups=True,
            family="group rebalancing",
            cost={"logistic": 0.1, "hgb": 6.8},
        ),
        Strategy(
            "group_dro_logistic",
            "exact Group DRO logistic regression",
            _group_dro_logistic,
            grid=[{"group_adjustment": 0.0}, {"group_adjustment": 1.0}],
            fit_groups=True,
            models=("logistic",),
            family="robust training",
            cost={"logistic": 0.17},
        ),
        Strategy(
            "group_dro",
            "model-agnostic Group DRO (exponentiated-gradient group weights)",
            _group_dro,
            grid=[{"step_size": 0.5}, {"step_size": 0.1}],
            fit_groups=True,
            family="robust training",
            cost={"logistic": 1.0, "hgb": 61.0},
        ),
        Strategy(
            "jtt",
            "Just Train Twice",
            _jtt,
            grid=[{"upweight": 5}, {"upweight": 20}],
            fit_groups=True,
            family="robust training",
            cost={"logistic": 0.44, "hgb": 10.2},
        ),
        Strategy(
            "group_thresholds",
            "per-group thresholds: sensitivity 0.8 in each group at 90% confidence",
            _group_thresholds,
            fit_groups=True,
            own_decisions=True,
            family="decision rules",
            cost={"logistic": 0.37, "hgb": 8.4},
        ),
        Strategy(
            "fairlearn_eg",
            "fairlearn ExponentiatedGradient, equalized odds",
            _exponentiated_gradient,
            grid=[{"eps": 0.02}],
            fit_groups=True,
            own_decisions=True,
            models=("logistic",),
            family="fairness constraints",
            probabilities=False,
            cost={"logistic": 5.2},
        ),
        Strategy(
            "fairlearn_threshold",
            "fairlearn ThresholdOptimizer, equalized odds",
            _threshold_optimizer,
            fit_groups=True,
            own_decisions=True,
            family="fairness constraints",
            probabilities=False,
            cost={"logistic": 0.51, "hgb": 3.1},
        ),
    ]
}
