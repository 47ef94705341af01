import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression

from healthbalance._sensitive import NoSensitiveFeaturesWarning
from healthbalance.training import GroupDROLogisticRegression
from tests.training._helpers import cohort, offset_mle


def _problem(seed, n=240, d=4, n_groups=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    codes = rng.integers(0, n_groups, n)
    noise = rng.logistic(size=n) * (1 + codes)
    y = (X @ rng.normal(size=d) + 0.7 * codes - 0.5 + noise > 0).astype(int)
    return X, y, np.array([f"g{c}" for c in codes])


def _objective(X, y, groups, coef, intercept, C, adjustment=0.0):
    """Independent evaluation of the Group DRO objective with a Python loop."""
    z = X @ coef + intercept
    loss = np.logaddexp(0, z) - y * z
    worst = max(
        loss[groups == g].mean() + adjustment / np.sqrt((groups == g).sum())
        for g in np.unique(groups)
    )
    return worst + coef @ coef / (2 * C * len(y))


def _epigraph_optimum(X, y, groups, C, adjustment=0.0):
    """Solve min t + R(w) s.t. group loss <= t with a generic solver (SLSQP)."""
    d = X.shape[1]
    masks = [groups == g for g in np.unique(groups)]

    def constraints(v):
        z = X @ v[:d] + v[d]
        loss = np.logaddexp(0, z) - y * z
        return np.array(
            [v[-1] - loss[m].mean() - adjustment / np.sqrt(m.sum()) for m in masks]
        )

    result = minimize(
        lambda v: v[-1] + v[:d] @ v[:d] / (2 * C * len(y)),
        np.concatenate([np.zeros(d + 1), [1.0]]),
        constraints=[{"type": "ineq", "fun": constraints}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 2000},
    )
    assert result.success
    return _objective(X, y, groups, result.x[:d], result.x[d], C, adjustment)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("C", "adjustment"), [(1.0, 0.0), (0.05, 0.0), (10.0, 1.0)])
def test_objective_matches_generic_solver(seed, C, adjustment):
    X, y, groups = _problem(seed)
    model = GroupDROLogisticRegression(
        C=C, group_adjustment=adjustment, tol=1e-10, prior_correction=False
    ).fit(X, y, sensitive_features=groups)
    ours = _objective(X, y, groups, model.coef_[0], model.intercept_[0], C, adjustment)
    reference = _epigraph_optimum(X, y, groups, C, adjustment)
    assert ours <= reference * (1 + 1e-6)
    assert ours == pytest.approx(model.objective_, rel=1e-12)
    plain = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y)
    assert ours <= _objective(
        X, y, groups, plain.coef_[0], plain.intercept_[0], C, adjustment
    )


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_single_group_equals_logistic_regression(C, fit_intercept):
    X, y, _ = _problem(7, n=300)
    with pytest.warns(NoSensitiveFeaturesWarning):
        model = GroupDROLogisticRegression(
            C=C, fit_intercept=fit_intercept, tol=1e-12
        ).fit(X, y)
    reference = LogisticRegression(
        C=C, fit_intercept=fit_intercept, solver="newton-cg", tol=1e-12
    ).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        model.intercept_, reference.intercept_, rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(model.group_weights_, [1.0])
    np.testing.assert_allclose(
        model.predict_proba(X), reference.predict_proba(X), atol=1e-7
    )


def test_group_weights_are_multipliers_of_the_worst_groups():
    X, y, groups = _problem(3)
    model = GroupDROLogisticRegression(tol=1e-10).fit(X, y, sensitive_features=groups)
    assert model.group_weights_.sum() == pytest.approx(1.0)
    assert np.all(model.group_weights_ >= 0)
    worst = model.group_losses_.max()
    active = model.group_weights_ > 1e-6
    # Complementary slackness: only groups at the worst loss carry weight.
    np.testing.assert_allclose(model.group_losses_[active], worst, rtol=1e-6)
    assert list(model.groups_) == ["g0", "g1", "g2"]


def test_worst_group_loss_is_no_worse_than_plain_logistic_regression():
    X, y, groups = _problem(5, n=600)
    model = GroupDROLogisticRegression().fit(X, y, sensitive_features=groups)
    plain = LogisticRegression().fit(X, y)
    proba = plain.predict_proba(X)[:, 1]
    plain_losses = [
        -np.mean(np.log(np.where(y[m] == 1, proba[m], 1 - proba[m])))
        for m in (groups == g for g in model.groups_)
    ]
    assert model.group_losses_.max() <= max(plain_losses) + 1e-9


def test_by_class_uses_group_by_class_cells():
    X, y, groups = _problem(1)
    model = GroupDROLogisticRegression(by_class=True, prior_correction=False).fit(
        X, y, sensitive_features=groups
    )
    assert len(model.groups_) == 6
    assert "g0 | y=1" in set(model.groups_)
    cells = np.array([f"{g} | y={c}" for g, c in zip(groups, y, strict=True)])
    objective = _objective(X, y, cells, model.coef_[0], model.intercept_[0], 1.0)
    assert objective == pytest.approx(_epigraph_optimum(X, y, cells, 1.0), rel=1e-6)


def test_prior_correction_is_calibrated_in_the_large():
    X, y, groups = _problem(2)
    raw = GroupDROLogisticRegression(prior_correction=False).fit(
        X, y, sensitive_features=groups
    )
    corrected = GroupDROLogisticRegression().fit(X, y, sensitive_features=groups)
    np.testing.assert_allclose(corrected.coef_, raw.coef_)
    # The shift is the offset MLE of the raw model, fitted independently.
    raw_risk = raw.predict_proba(X)[:, 1]
    assert corrected.intercept_shift_ == pytest.approx(
        offset_mle(y, raw_risk), abs=1e-6
    )
    np.testing.assert_allclose(
        corrected.intercept_, raw.intercept_ + corrected.intercept_shift_
    )
    risk = corrected.predict_proba(X)[:, 1]
    assert risk.mean() == pytest.approx(y.mean(), abs=1e-6)
    assert offset_mle(y, risk) == pytest.approx(0, abs=1e-6)


def test_sensitive_columns_equal_sensitive_features():
    X, y, groups = _problem(4)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["site"] = pd.Series(groups).str[1:].astype(int)
    by_column = GroupDROLogisticRegression(sensitive_columns="site").fit(frame, y)
    by_keyword = GroupDROLogisticRegression().fit(
        frame, y, sensitive_features=frame["site"]
    )
    np.testing.assert_array_equal(by_column.coef_, by_keyword.coef_)
    np.testing.assert_array_equal(by_column.groups_, ["0", "1", "2"])


def test_single_class_group_is_named():
    X, y, groups = _problem(0)
    y = y.copy()
    y[groups == "g1"] = 0
    with pytest.raises(ValueError, match="group 'g1' has only one class"):
        GroupDROLogisticRegression().fit(X, y, sensitive_features=groups)


def test_multiclass_is_rejected():
    X, _, groups = _problem(0)
    y = np.arange(len(X)) % 3
    with pytest.raises(ValueError, match="Only binary classification"):
        GroupDROLogisticRegression().fit(X, y, sensitive_features=groups)


def test_string_labels_and_determinism():
    X, y, groups = _problem(6)
    labels = np.where(y == 1, "died", "survived")
    first = GroupDROLogisticRegression().fit(X, labels, sensitive_features=groups)
    second = GroupDROLogisticRegression().fit(X, labels, sensitive_features=groups)
    np.testing.assert_array_equal(first.coef_, second.coef_)
    assert set(first.predict(X)) <= {"died", "survived"}
    assert list(first.classes_) == ["died", "survived"]


def test_prior_correction_undoes_group_weights_on_a_cohort():
    # A class-prior ratio left a calibration intercept of -0.16 here.
    X, y, groups = cohort(1, n=20_000)
    risk = (
        GroupDROLogisticRegression()
        .fit(X, y, sensitive_features=groups)
        .predict_proba(X)[:, 1]
    )
    assert offset_mle(y, risk) == pytest.approx(0, abs=1e-6)
    assert risk.mean() == pytest.approx(y.mean(), abs=1e-6)
