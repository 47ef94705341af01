"""``predict_proba`` / ``predict`` of the estimators that correct by the odds ratio.

The rules (attribute schema, mechanisms, unseen-group policy) live in
:mod:`healthbalance._prior`; this mixin only wires them into ``ResampledClassifier``
and ``ReweightedClassifier``.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from healthbalance._groups import SensitiveGroups, encode_labels
from healthbalance._prior import (
    MissingGroupsWarning,
    apply_prior_shift,
    check_unseen_groups,
    class_priors,
    odds_ratio_shift,
    record_prior_correction,
)
from healthbalance.training._meta import full_proba
from healthbalance.utils._warnings import warn

__all__ = ["PriorCorrectionMixin"]


class PriorCorrectionMixin:
    """Record class priors per group in ``fit``; correct ``predict_proba`` with them.

    For estimators that change only the class prior (resampling, reweighting):
    subclasses set ``estimator_`` and ``classes_``, call :meth:`_record_priors`, and
    define ``_sensitive_columns`` (the columns of ``X`` holding the groups, or None)
    and the ``unseen_group`` parameter.
    """

    def _record_priors(self, groups, before, after):
        """Store the schema from (group codes, class codes, weights) triples.

        ``before`` and ``after`` describe the rows before and after the change,
        with group codes into ``groups``.
        """
        n_classes = self.classes_.size
        priors = [
            class_priors(g, c, groups.size, n_classes, sample_weight=w)
            for g, c, w in (before, after)
        ]
        overall = [
            class_priors(np.zeros_like(c), c, 1, n_classes, sample_weight=w)[0]
            for _, c, w in (before, after)
        ]
        scope = self._scope(*priors, *overall)
        shift = odds_ratio_shift(*priors), odds_ratio_shift(*overall)
        if scope == "none":
            shift = np.zeros_like(shift[0]), np.zeros(n_classes)
        elif scope == "global":
            shift = np.tile(shift[1], (groups.size, 1)), shift[1]
        record_prior_correction(
            self,
            groups,
            (priors[0], overall[0]),
            (priors[1], overall[1]),
            shift,
            scope=scope,
            method="odds_ratio",
        )
        if scope != "none" and not hasattr(self.estimator_, "predict_proba"):
            raise ValueError(
                f"estimator {type(self.estimator_).__name__} has no predict_proba, so "
                "its probabilities cannot be mapped back to the original priors: set "
                "prior_correction=False or use a probabilistic classifier."
            )

    def _scope(self, prior_before, prior_after, overall_before, overall_after):
        if not self.prior_correction:
            return "none"
        ratio = np.divide(
            prior_before,
            prior_after,
            out=np.ones_like(prior_before),
            where=prior_after > 0,
        )
        if np.allclose(ratio, ratio[:1], rtol=1e-9, atol=1e-12):
            if np.allclose(overall_before, overall_after, atol=1e-12):
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
            follow ``unseen_group``.

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
            return apply_prior_shift(proba, self.prior_shift_overall_)
        return apply_prior_shift(proba, self._row_shift(X, sensitive_features, method))

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
        return full_proba(self.estimator_, X, self.classes_)

    def _row_shift(self, X, sensitive_features, method):
        columns = self._sensitive_columns
        caller = type(self).__name__
        if sensitive_features is None and columns is None:
            warn(
                f"{caller} corrects priors per group but got no "
                f"sensitive_features in {method}: the overall prior is used. Pass "
                f"sensitive_features=... to {method} (through a pipeline or a "
                "search with metadata routing: "
                f"set_{method}_request(sensitive_features=True)), or give the "
                "estimator sensitive_columns.",
                MissingGroupsWarning,
            )
            return self.prior_shift_overall_
        labels = SensitiveGroups.resolve(
            X, sensitive_features, columns, caller=caller
        ).labels
        codes = encode_labels(labels, self.prior_shift_.index.to_numpy(dtype=object))
        unseen = check_unseen_groups(
            codes,
            labels,
            self.unseen_group,
            caller=caller,
            fallback="the overall prior correction",
        )
        shift = self.prior_shift_.to_numpy()[np.maximum(codes, 0)]
        shift[unseen] = self.prior_shift_overall_
        return shift
