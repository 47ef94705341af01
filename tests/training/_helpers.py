"""Data and a spy classifier shared by the training tests."""

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin


def cohort(seed, n=20_000):
    """Synthetic cohort: 5 features, 3 groups of different prevalence (~10%)."""
    rng = np.random.default_rng(seed)
    groups = rng.choice(["A", "B", "C"], size=n, p=[0.5, 0.3, 0.2])
    X = rng.normal(size=(n, 5))
    offset = np.select([groups == "A", groups == "B"], [-3.0, -2.2], -1.6)
    risk = offset + X @ np.array([1.0, 0.6, -0.5, 0.3, 0.0])
    y = (rng.random(n) < expit(risk)).astype(int)
    # The model sees the group through one-hot columns, as a risk model would.
    X = np.c_[X, groups == "B", groups == "C"].astype(float)
    return X, y, groups


def calibration_intercept(y, proba):
    """Intercept of a logistic fit of y with logit(proba) as offset (0 is ideal)."""
    lp = logit(np.clip(proba, 1e-12, 1 - 1e-12))
    return brentq(lambda a: np.sum(y - expit(a + lp)), -20, 20)


def offset_mle(y, proba):
    """Statsmodels-style offset MLE: maximise the likelihood of a + logit(proba)."""
    z = logit(proba)

    def nll(a):
        eta = a + z
        return np.sum(np.logaddexp(0, eta) - y * eta)

    return minimize_scalar(
        nll, bounds=(-30, 30), method="bounded", options={"xatol": 1e-10}
    ).x


class SpyClassifier(ClassifierMixin, BaseEstimator):
    """Record what fit receives; predict the training prior."""

    def fit(self, X, y, sample_weight=None, sensitive_features=None):
        self.X_, self.y_ = np.asarray(X), np.asarray(y)
        self.sample_weight_ = sample_weight
        self.sensitive_features_ = sensitive_features
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        prior = np.array([np.mean(self.y_ == c) for c in self.classes_])
        return np.tile(prior, (len(X), 1))

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
