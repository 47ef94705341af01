import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from healthbalance.training import GroupThresholdClassifier, UnseenGroupWarning
from healthbalance.training._thresholds import choose_threshold


def _data(seed=0, n=400):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    groups = rng.choice(np.array(["a", "b", "c"], dtype=object), size=n)
    noise = np.select([groups == "a", groups == "b"], [0.5, 1.5], 3.0)
    y = (X[:, 0] + noise * rng.normal(size=n) > 0.5).astype(int)
    return X, y, groups


def _brute_force(y, s, objective, target):
    """Try every threshold; return the best one by the definition of objective."""
    best = None
    for t in np.append(np.unique(s), np.inf):
        sens = np.mean(s[y == 1] >= t)
        spec = np.mean(s[y == 0] < t)
        if objective == "sensitivity" and sens >= target - 1e-12:
            key = (spec, t)
        elif objective == "specificity" and spec >= target - 1e-12:
            key = (sens, -t)
        elif objective == "equal_fnr":
            key = (-abs(sens - target), t)
        else:
            continue
        best = max(best, key) if best else key
    return best


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=2, max_size=30),
    st.sampled_from(["sensitivity", "specificity", "equal_fnr"]),
    st.floats(0.0, 1.0),
)
def test_threshold_is_optimal_against_brute_force(rows, objective, target):
    y = np.array([int(r[0]) for r in rows])
    s = np.array([r[1] / 6 for r in rows])
    if y.min() == y.max():
        y[0] = 1 - y[0]
    t = choose_threshold(y, s, objective, target)
    sens, spec = np.mean(s[y == 1] >= t), np.mean(s[y == 0] < t)
    best = _brute_force(y, s, objective, target)
    if objective == "sensitivity":
        assert sens >= target - 1e-12 and spec == best[0]
    elif objective == "specificity":
        assert spec >= target - 1e-12 and sens == best[0]
    else:
        assert -abs(sens - target) == pytest.approx(best[0])


def test_every_group_meets_the_target_on_held_out_scores():
    X, y, groups = _data()
    model = GroupThresholdClassifier(
        LogisticRegression(), target=0.85, cv=4, random_state=0
    ).fit(X, y, sensitive_features=groups)
    folds = StratifiedKFold(4, shuffle=True, random_state=0)
    scores = cross_val_predict(
        LogisticRegression(), X, y, cv=folds, method="predict_proba"
    )[:, 1]
    for g in ["a", "b", "c"]:
        m = groups == g
        assert model.thresholds_[g] == choose_threshold(
            y[m], scores[m], "sensitivity", 0.85
        )
        assert np.mean(scores[m][y[m] == 1] >= model.thresholds_[g]) >= 0.85
    proba = model.predict_proba(X)[:, 1]
    expected = proba >= model.thresholds_.loc[groups].to_numpy()
    np.testing.assert_array_equal(model.predict(X, sensitive_features=groups), expected)


def test_prefit_uses_a_frozen_estimator_and_the_given_rows():
    X, y, groups = _data(1)
    fitted = LogisticRegression().fit(X[:200], y[:200])
    coef = fitted.coef_.copy()
    model = GroupThresholdClassifier(fitted, cv="prefit", objective="specificity")
    model.fit(X[200:], y[200:], sensitive_features=groups[200:])
    np.testing.assert_array_equal(fitted.coef_, coef)
    scores = fitted.predict_proba(X[200:])[:, 1]
    m = groups[200:] == "b"
    assert model.thresholds_["b"] == choose_threshold(
        y[200:][m], scores[m], "specificity", 0.8
    )


def test_unseen_group_falls_back_to_the_global_threshold_with_a_warning():
    X, y, groups = _data(2)
    model = GroupThresholdClassifier(LogisticRegression(), cv=3, random_state=0)
    model.fit(X, y, sensitive_features=groups)
    new_groups = groups.copy()
    new_groups[:5] = "d"
    with pytest.warns(UnseenGroupWarning, match="'d'"):
        pred = model.predict(X, sensitive_features=new_groups)
    proba = model.predict_proba(X[:5])[:, 1]
    np.testing.assert_array_equal(pred[:5], (proba >= model.threshold_).astype(int))


def test_sensitive_columns_at_fit_and_predict():
    X, y, groups = _data(3)
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(site=groups)
    features = ["a", "b", "c"]
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(
        make_column_transformer(("passthrough", features)), LogisticRegression()
    )
    model = GroupThresholdClassifier(
        pipe, cv=3, random_state=0, sensitive_columns="site"
    )
    model.fit(frame, y)
    np.testing.assert_array_equal(
        model.predict(frame),
        (
            model.predict_proba(frame)[:, 1] >= model.thresholds_.loc[groups].to_numpy()
        ).astype(int),
    )


def test_group_with_one_class_is_named():
    X, y, groups = _data(4)
    y = y.copy()
    y[groups == "c"] = 0
    with pytest.raises(ValueError, match="group 'c' has only one class"):
        GroupThresholdClassifier(LogisticRegression()).fit(
            X, y, sensitive_features=groups
        )


def test_multiclass_is_rejected():
    X, _, groups = _data()
    with pytest.raises(ValueError, match="Only binary"):
        GroupThresholdClassifier(LogisticRegression()).fit(
            X, np.arange(len(X)) % 3, sensitive_features=groups
        )
