import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline

from healthbalance import NoSensitiveFeaturesWarning
from healthbalance.metrics import make_group_scorer

CV = KFold(3, shuffle=True, random_state=0)
# The folds' groups (about 27 patients) are below the shared reliability defaults;
# the tests comparing with a brute-force loop over every group let all of them count.
EVERY_GROUP = {"min_group_size": 0, "min_events": 0}


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 240
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    race = rng.choice(["A", "B", "C"], n)
    y = (X.a + 0.5 * (race == "B") + rng.normal(size=n) > 0).astype(int)
    return X, y.to_numpy(), race


def _expected(X, y, race, metric, aggregate, C=1.0):
    """Brute force: fit each fold, score each group with sklearn, aggregate."""
    values = []
    for train, test in CV.split(X):
        model = LogisticRegression(C=C).fit(X.iloc[train], y[train])
        p = model.predict_proba(X.iloc[test])[:, 1]
        per_group = [
            metric(y[test][race[test] == g], p[race[test] == g]) for g in "ABC"
        ]
        values.append(aggregate(per_group))
    return np.array(values)


def test_cross_validate_with_metadata_routing(data):
    X, y, race = data
    scorer = make_group_scorer("roc_auc", aggregate="min", **EVERY_GROUP)
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(
            LogisticRegression(),
            X,
            y,
            scoring=scorer,
            cv=CV,
            params={"sensitive_features": race},
        )
    expected = _expected(X, y, race, roc_auc_score, min)
    np.testing.assert_allclose(result["test_score"], expected, atol=1e-10)


def test_cross_validate_with_sensitive_columns(data):
    X, y, race = data
    X = X.assign(race=race)
    model = make_pipeline(
        make_column_transformer(("drop", ["race"]), remainder="passthrough"),
        LogisticRegression(),
    )
    scorer = make_group_scorer(
        "brier_score", aggregate="worst", sensitive_columns="race", **EVERY_GROUP
    )
    result = cross_validate(model, X, y, scoring=scorer, cv=CV)
    expected = -_expected(X[["a", "b"]], y, race, brier_score_loss, max)
    np.testing.assert_allclose(result["test_score"], expected, atol=1e-10)


def test_grid_search_with_metadata_routing_picks_best_worst_group(data):
    X, y, race = data
    grid = {"C": [0.001, 1.0]}
    scorer = make_group_scorer("roc_auc", aggregate="max_difference", **EVERY_GROUP)
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(LogisticRegression(), grid, scoring=scorer, cv=CV)
        search.fit(X, y, sensitive_features=race)
    for i, C in enumerate(grid["C"]):
        gap = _expected(X, y, race, roc_auc_score, lambda v: max(v) - min(v), C=C)
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(-gap.mean())


def test_grid_search_with_sensitive_columns(data):
    X, y, race = data
    X = X.assign(race=race)
    model = make_pipeline(
        make_column_transformer(("drop", ["race"]), remainder="passthrough"),
        LogisticRegression(),
    )
    scorer = make_group_scorer(
        "roc_auc", aggregate="mean", sensitive_columns=["race"], **EVERY_GROUP
    )
    search = GridSearchCV(
        model, {"logisticregression__C": [0.01, 1.0]}, cv=CV, scoring=scorer
    ).fit(X, y)
    expected = _expected(X[["a", "b"]], y, race, roc_auc_score, np.mean)
    assert search.cv_results_["mean_test_score"][1] == pytest.approx(expected.mean())


def test_routing_alias_and_missing_groups_warn(data):
    X, y, race = data
    model = LogisticRegression().fit(X, y)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_group_scorer("roc_auc", **EVERY_GROUP).set_score_request(
            sensitive_features="grp"
        )
        result = cross_validate(
            LogisticRegression(), X, y, scoring=scorer, cv=CV, params={"grp": race}
        )
    # The alias really routes the groups: the score is the worst group's AUROC.
    expected = _expected(X, y, race, roc_auc_score, min)
    np.testing.assert_allclose(result["test_score"], expected, atol=1e-10)
    with pytest.warns(NoSensitiveFeaturesWarning):
        value = make_group_scorer("roc_auc")(model, X, y)
    assert value == pytest.approx(roc_auc_score(y, model.predict_proba(X)[:, 1]))


def test_attribute_selects_groups(data):
    X, y, race = data
    model = LogisticRegression().fit(X, y)
    sf = pd.DataFrame({"race": race, "half": np.arange(y.size) % 2})
    p = model.predict_proba(X)[:, 1]
    with sklearn.config_context(enable_metadata_routing=True):
        value = make_group_scorer("roc_auc", attribute="half")(
            model, X, y, sensitive_features=sf
        )
        with pytest.raises(ValueError, match="attribute='nope'"):
            make_group_scorer("roc_auc", attribute="nope")(
                model, X, y, sensitive_features=sf
            )
    halves = [roc_auc_score(y[sf.half == h], p[sf.half == h]) for h in (0, 1)]
    assert value == pytest.approx(min(halves))


def test_small_groups_are_left_out_by_default_like_group_report(data):
    X, y, race = data
    race = np.where(np.arange(y.size) < 12, "tiny", race)
    model = LogisticRegression().fit(X, y)
    p = model.predict_proba(X)[:, 1]
    sizes = {g: (race == g).sum() for g in np.unique(race)}
    events = {g: min(y[race == g].sum(), (1 - y[race == g]).sum()) for g in sizes}
    auc = {g: roc_auc_score(y[race == g], p[race == g]) for g in sizes}
    kept = [g for g in sizes if sizes[g] >= 30 and events[g] >= 20]
    reliable = [g for g in sizes if sizes[g] >= 30 and events[g] >= 10]
    assert "tiny" not in kept and min(auc.values()) < min(auc[g] for g in kept)
    assert "tiny" not in reliable
    strict = make_group_scorer("roc_auc", min_group_size=30, min_events=20)
    with sklearn.config_context(enable_metadata_routing=True):
        everyone = make_group_scorer("roc_auc", **EVERY_GROUP)(
            model, X, y, sensitive_features=race
        )
        default = make_group_scorer("roc_auc")(model, X, y, sensitive_features=race)
        measured = strict(model, X, y, sensitive_features=race)
        with pytest.warns(UserWarning, match="min_group_size"):
            nothing = make_group_scorer("roc_auc", min_group_size=10**6)(
                model, X, y, sensitive_features=race
            )
    assert everyone == pytest.approx(min(auc.values()), abs=1e-12)
    assert default == pytest.approx(min(auc[g] for g in reliable), abs=1e-12)
    assert measured == pytest.approx(min(auc[g] for g in kept), abs=1e-12)
    assert np.isnan(nothing)
    assert "min_events=20" in repr(strict) and "min_group_size" not in repr(strict)
    assert "min_group_size=0, min_events=0" in repr(
        make_group_scorer("roc_auc", **EVERY_GROUP)
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "roc_auc", "min_group_size": -1}, "min_group_size"),
        ({"metric": "roc_auc", "min_events": 1.5}, "min_events"),
        ({"metric": "auroc"}, "unknown"),
        ({"metric": "roc_auc", "aggregate": "median"}, "aggregate"),
        ({"metric": "calibration_slope", "aggregate": "min"}, "no direction"),
        ({"metric": "roc_auc", "threshold": 2}, "threshold"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_group_scorer(**kwargs)
