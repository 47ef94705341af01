"""Helpers shared by the meta-estimators of healthbalance.training."""

import numpy as np
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils.validation import has_fit_parameter

from healthbalance._small_counts import count_text

__all__ = [
    "check_binary_or_more",
    "check_sample_weight_support",
    "finite_rule",
    "full_proba",
    "make_cv",
]


def full_proba(model, X, classes):
    """``model.predict_proba(X)`` with one column per class of ``classes``.

    A model fitted on a subset of the classes gets zero columns for the others.
    """
    proba = model.predict_proba(X)
    full = np.zeros((proba.shape[0], classes.size))
    full[:, np.searchsorted(classes, model.classes_)] = proba
    return full


def finite_rule(owner):
    """Return ``ensure_all_finite`` for ``validate_data(owner, ...)``.

    What the wrapped estimator accepts (the owner's ``allow_nan`` tag, taken from
    it), so that a NaN or inf it refuses fails on ``X`` before any group check.

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> from healthbalance.training import GroupDROClassifier
    >>> from healthbalance.training._meta import finite_rule
    >>> finite_rule(GroupDROClassifier(LogisticRegression()))
    True
    >>> finite_rule(GroupDROClassifier(HistGradientBoostingClassifier()))
    'allow-nan'
    """
    return "allow-nan" if owner.__sklearn_tags__().input_tags.allow_nan else True


def check_sample_weight_support(estimator, caller, name="estimator"):
    """Raise a TypeError unless ``estimator.fit`` accepts ``sample_weight``."""
    if not has_fit_parameter(estimator, "sample_weight"):
        raise TypeError(
            f"{caller} needs an {name} whose fit accepts sample_weight; "
            f"{type(estimator).__name__} does not. Wrap a model that does (e.g. "
            "HistGradientBoostingClassifier, LogisticRegression)."
        )


def check_binary_or_more(classes, caller):
    """Raise a ValueError when ``y`` holds a single class."""
    if classes.size < 2:
        raise ValueError(
            f"{caller} needs samples of at least 2 classes in y; got one class "
            f"({classes[0]!r})."
        )


def make_cv(cv, y, random_state):
    """Return a splitter: shuffled stratified folds for an int ``cv``.

    Parameters
    ----------
    cv : int or cross-validation generator or iterable
        As for :func:`sklearn.model_selection.cross_val_predict`.
    y : ndarray of shape (n_samples,)
        Targets.
    random_state : int, RandomState instance or None
        Seeds the shuffling of the folds for an int ``cv``.

    Returns
    -------
    cv : cross-validation generator
    """
    if isinstance(cv, int | np.integer):
        min_count = np.unique(y, return_counts=True)[1].min()
        if min_count < cv:
            raise ValueError(
                f"cv={cv} folds need at least {cv} rows of every class, but the "
                f"smallest class has {count_text(min_count)}: lower cv or add rows."
            )
        return StratifiedKFold(int(cv), shuffle=True, random_state=random_state)
    return check_cv(cv, y, classifier=True)
