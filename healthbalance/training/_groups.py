"""Group resolution and checks shared by the training estimators."""

from healthbalance._groups import SensitiveGroups, encode_classes
from healthbalance._small_counts import count_text

__all__ = ["check_groups_have_both_classes", "fit_groups"]


def fit_groups(estimator, X, sensitive_features):
    """Return the group model of the rows of ``X`` for ``estimator``.

    Parameters
    ----------
    estimator : estimator
        Its ``sensitive_columns`` parameter and name are used.
    X : array-like of shape (n_samples, n_features)
        The data, before validation (a DataFrame when ``sensitive_columns`` is set).
    sensitive_features : array-like, SensitiveGroups or None
        Groups passed to the method.

    Returns
    -------
    groups : SensitiveGroups
        The groups; a single group ``"all"`` without groups.
    """
    return SensitiveGroups.resolve(
        X,
        sensitive_features,
        estimator.sensitive_columns,
        caller=type(estimator).__name__,
    )


def check_groups_have_both_classes(groups, y, caller):
    """Raise a ValueError naming the first group whose rows hold a single class.

    Parameters
    ----------
    groups : SensitiveGroups
        Groups of the rows.
    y : ndarray of shape (n_samples,)
        Targets.
    caller : str
        Estimator name, used in the message.
    """
    classes, y_codes = encode_classes(y)
    counts = groups.cell_counts(y_codes, classes.size)
    n_classes = (counts > 0).sum(axis=1)
    for group, count, size in zip(
        groups.groups, n_classes, counts.sum(axis=1), strict=True
    ):
        if count < 2:
            raise ValueError(
                f"{caller}: group {group!r} has only one class in y "
                f"({count_text(size)} rows); every group needs rows of both classes. "
                "Merge it with another group or drop it."
            )
