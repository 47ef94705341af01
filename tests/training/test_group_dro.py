import re

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from healthbalance.training import GroupDROClassifier
from tests.training._helpers import calibration_intercept, offset_mle


def _data(seed=0, n=400):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    small = rng.random(n) < 0.2
    y = (np.where(small, -X[:, 0], X[:, 0]) + 0.3 * rng.normal(size=n) > 0).astype(int)
    return X, y, np.where(small, "small", "large")


def _manual_rounds(X, y, groups, n_rounds, step_size, fraction, seed):
    """Sagawa et al.'s update written out with plain loops."""
    names = sorted(set(groups))
    cells = np.array([f"{g}{c}" for g, c in zip(groups, y, strict=True)])
    fit, val = train_test_split(
        np.arange(len(y)), test_size=fraction, stratify=cells, random_state=seed
    )
    q = np.array([np.mean(groups == g) for g in names])
    history = []
    for _ in range(n_rounds):
        weights = np.empty(len(fit))
        for k, g in enumerate(names):
            in_group = groups[fit] == g
            weights[in_group] = q[k] * len(fit) / in_group.sum()
        model = LogisticRegression().fit(X[fit], y[fit], sample_weight=weights)
        losses = []
        for g in names:
            rows = val[groups[val] == g]
            losses.append(
                log_loss(y[rows], model.predict_proba(X[rows]), labels=[0, 1])
            )
        history.append(losses)
        q = q * np.exp(step_size * np.array(losses))
        q /= q.sum()
    return np.array(history)


def test_rounds_match_the_exponentiated_gradient_update():
    X, y, groups = _data()
    dro = GroupDROClassifier(
        LogisticRegression(), n_rounds=4, step_size=2.0, random_state=1
    ).fit(X, y, sensitive_features=groups)
    expected = _manual_rounds(X, y, groups, 4, 2.0, 0.2, 1)
    np.testing.assert_allclose(dro.validation_losses_, expected, rtol=1e-10)
    assert dro.best_round_ == np.argmin(expected.max(axis=1))
    assert dro.group_weights_.sum() == pytest.approx(1.0)


def test_worst_group_validation_loss_beats_erm():
    X, y, groups = _data(1)
    dro = GroupDROClassifier(
        LogisticRegression(), n_rounds=6, step_size=3.0, random_state=0
    ).fit(X, y, sensitive_features=groups)
    # Round 0 is ERM, so the kept round is at least as good on the worst group.
    assert dro.validation_losses_[dro.best_round_].max() < (
        dro.validation_losses_[0].max()
    )
    assert dro.group_weights_[list(dro.groups_).index("small")] > np.mean(
        groups == "small"
    )


def test_refit_false_keeps_the_round_model_and_refit_true_uses_all_rows():
    X, y, groups = _data(2)
    params = {"n_rounds": 3, "random_state": 0}
    kept = GroupDROClassifier(LogisticRegression(), refit=False, **params)
    kept.fit(X, y, sensitive_features=groups)
    refit = GroupDROClassifier(LogisticRegression(), **params)
    refit.fit(X, y, sensitive_features=groups)
    weights = np.where(
        groups == "small",
        refit.group_weights_[1] / np.mean(groups == "small"),
        refit.group_weights_[0] / np.mean(groups == "large"),
    )
    reference = LogisticRegression().fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(refit.estimator_.coef_, reference.coef_, rtol=1e-6)
    assert not np.allclose(kept.estimator_.coef_, refit.estimator_.coef_)


def test_prior_correction_refits_the_intercept():
    X, y, groups = _data(3)
    dro = GroupDROClassifier(LogisticRegression(), n_rounds=3, random_state=0)
    dro.fit(X, y, sensitive_features=groups)
    raw = dro.estimator_.predict_proba(X)[:, 1]
    shift = offset_mle(y, raw)  # independent offset fit
    np.testing.assert_allclose(
        dro.predict_proba(X)[:, 1], expit(logit(raw) + shift), rtol=1e-6
    )
    assert dro.predict_proba(X)[:, 1].mean() == pytest.approx(y.mean(), abs=1e-6)
    assert calibration_intercept(y, dro.predict_proba(X)[:, 1]) == pytest.approx(
        0, abs=1e-6
    )
    np.testing.assert_array_equal(dro.predict(X), dro.predict_proba(X).argmax(axis=1))
    assert dro.prior_method_ == "intercept" and dro.prior_correction_ == "global"


def test_works_with_data_frames_and_sensitive_columns():
    X, y, groups = _data(4)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["site"] = (groups == "small").astype(int)
    model = HistGradientBoostingClassifier(max_iter=10, random_state=0)
    dro = GroupDROClassifier(
        model, n_rounds=2, random_state=0, sensitive_columns="site"
    ).fit(frame, y)
    assert list(dro.groups_) == ["0", "1"]
    assert dro.predict(frame).shape == (len(y),)


def test_same_seed_same_result():
    X, y, groups = _data(5)
    first, second = (
        GroupDROClassifier(LogisticRegression(), n_rounds=3, random_state=7).fit(
            X, y, sensitive_features=groups
        )
        for _ in range(2)
    )
    np.testing.assert_array_equal(first.validation_losses_, second.validation_losses_)


def test_single_class_and_tiny_groups_are_named():
    X, y, groups = _data()
    groups = groups.astype(object)
    groups[0] = "lonely"
    with pytest.raises(ValueError, match="group 'lonely' has only one class") as info:
        GroupDROClassifier(LogisticRegression()).fit(X, y, sensitive_features=groups)
    # one row is a small count: the message says so without the number
    assert "(fewer than 11 rows)" in str(info.value)
    assert not re.search(r"\b1 row", str(info.value))
    y = y.copy()
    y[groups == "small"] = 1
    groups[0] = "large"
    n_small = int(np.sum(groups == "small"))
    with pytest.raises(ValueError, match="group 'small' has only one class") as info:
        GroupDROClassifier(LogisticRegression()).fit(X, y, sensitive_features=groups)
    assert f"({n_small} rows)" in str(info.value) and n_small >= 11


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_bad_values_in_x_fail_on_x_before_the_group_checks(bad):
    """Group 'b' holds one class, X a NaN / inf: the error is scikit-learn's."""
    X = np.arange(40, dtype=float).reshape(20, 2)
    X[3, 1] = bad
    y = np.r_[np.tile([0, 1], 5), np.ones(10, int)]
    groups = np.repeat(["a", "b"], 10)
    with pytest.raises(ValueError) as reference:
        LogisticRegression().fit(X, y)
    expected = str(reference.value).splitlines()[0]  # "Input X contains NaN." ...
    with pytest.raises(ValueError, match=re.escape(expected)) as raised:
        GroupDROClassifier(LogisticRegression()).fit(X, y, sensitive_features=groups)
    assert "group" not in str(raised.value)
    # an estimator that accepts NaN gets past X, to the group check
    if np.isnan(bad):
        with pytest.raises(ValueError, match="group 'b'"):
            GroupDROClassifier(HistGradientBoostingClassifier()).fit(
                X, y, sensitive_features=groups
            )
