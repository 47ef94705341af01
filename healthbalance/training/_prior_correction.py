"""Prior correction shared by ResampledClassifier and ReweightedClassifier.

Resampling or reweighting changes the class prior the model learns from (per group
when a step balances classes within groups). The mixin records the priors before and
after, per group, and maps ``predict_proba`` back to the original priors with
:func:`healthbalance.utils._prior.correct_priors`.
"""

import warnings

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted, validate_data

from healthbalance._groups import SensitiveGroups
from healthbalance.utils._prior import class_priors, correct_priors

__all__ = ["MissingGroupsWarning", "PriorCorrectionMixin"]


class MissingGroupsWarning(UserWarning):
    """Warn that per-group prior correction fell back to the overall prior."""


class PriorCorrectionMixin:
    """Record class priors per group in ``fit``; correct ``predict_proba`` with them.

    Subclasses set ``estimator_`` and call :meth:`_record_priors`, and define
    ``_sensitive_columns`` (the columns of ``X`` holding the groups, or None).
    """

    def _record_priors(self, groups, before, after):
        """Store priors; ``before``/``after`` are ``(cell codes, weights)`` pairs."""
        shape = (groups.size, self.classes_.size)
        prior_before = class_priors(before[0], *shape, sample_weight=before[1])
        prior_after = class_priors(after[0], *shape, sample_weight=after[1])
        self.class_prior_before_ = pd.DataFrame(
            prior_before, index=groups, columns=self.classes_
        )
        self.class_prior_after_ = pd.DataFrame(
            prior_after, index=groups, columns=self.classes_
        )
        self.prior_before_ = _overall(before, shape)
        self.prior_after_ = _overall(after, shape)
        self.prior_correction_ = self._correction_mode(prior_before, prior_after)
        if self.prior_correction_ != "none" and not hasattr(
            self.estimator_, "predict_proba"
        ):
            raise ValueError(
                f"estimator {type(self.estimator_).__name__} has no predict_proba, so "
                "its probabilities cannot be mapped back to the original priors: set "
                "prior_correction=False or use a probabilistic classifier."
            )

    def _correction_mode(self, prior_before, prior_after):
        if not self.prior_correction:
            return "none"
        ratio = np.divide(
            prior_before,
            prior_after,
            out=np.ones_like(prior_before),
            where=prior_after > 0,
        )
        if np.allclose(ratio, ratio[:1], rtol=1e-9, atol=1e-12):
            if np.allclose(self.prior_before_, self.prior_after_, atol=1e-12):
                return "none"
            return "global"
        return "group"

    def predict_proba(self, X, *, sensitive_features=None):
        """Predict class probabilities under the original (training data) priors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        sensitive_features : array-like of shape (n_samples,), default=None
            Group of each row; needed only when ``prior_correction_ == "group"``
            (or read from ``sensitive_columns``). Without it the overall prior is
            used, with a ``MissingGroupsWarning``; rows of a group unseen in ``fit``
            also get the overall prior.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self._corrected_proba(X, sensitive_features, "predict_proba")

    def _corrected_proba(self, X, sensitive_features, method):
        self._check_X(X)
        proba = self._estimator_proba(X)
        if self.prior_correction_ == "none":
            return proba
        if self.prior_correction_ == "global":
            return correct_priors(proba, self.prior_before_, self.prior_after_)
        before, after = self._row_priors(X, sensitive_features, method)
        return correct_priors(proba, before, after)

    def predict(self, X, *, sensitive_features=None):
        """Predict the class of highest (prior-corrected) probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        sensitive_features : array-like of shape (n_samples,), default=None
            Group of each row; see :meth:`predict_proba`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted classes.
        """
        check_is_fitted(self)
        if self.prior_correction_ == "none":
            self._check_X(X)
            return self.estimator_.predict(X)
        proba = self._corrected_proba(X, sensitive_features, "predict")
        return self.classes_[np.argmax(proba, axis=1)]

    def _check_X(self, X):
        if not hasattr(X, "columns"):
            validate_data(
                self,
                X,
                reset=False,
                dtype=None,
                ensure_all_finite=False,
                accept_sparse=True,
            )
        else:
            validate_data(self, X, reset=False, skip_check_array=True)

    def _estimator_proba(self, X):
        proba = self.estimator_.predict_proba(X)
        order = np.searchsorted(self.classes_, self.estimator_.classes_)
        full = np.zeros((proba.shape[0], self.classes_.size))
        full[:, order] = proba
        return full

    def _row_priors(self, X, sensitive_features, method):
        columns = self._sensitive_columns
        if sensitive_features is None and columns is None:
            warnings.warn(
                f"{type(self).__name__} corrects priors per group but got no "
                f"sensitive_features in {method}: the overall prior is used. Pass "
                f"sensitive_features=... to {method} (through a pipeline or a "
                "search with metadata routing: "
                f"set_{method}_request(sensitive_features=True)), or give the "
                "estimator sensitive_columns.",
                MissingGroupsWarning,
                stacklevel=4,
            )
            return self.prior_before_, self.prior_after_
        labels = SensitiveGroups.resolve(
            X, sensitive_features, columns, caller=type(self).__name__
        ).labels
        before = self.class_prior_before_.reindex(labels).to_numpy(copy=True)
        after = self.class_prior_after_.reindex(labels).to_numpy(copy=True)
        unseen = np.isnan(before).any(axis=1)
        before[unseen], after[unseen] = self.prior_before_, self.prior_after_
        return before, after


def _overall(pair, shape):
    cells, weights = pair
    n_classes = shape[1]
    return class_priors(cells % n_classes, 1, n_classes, sample_weight=weights)[0]
