import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from healthbalance.metrics import SmallGroupWarning, compare_models, group_report
from healthbalance.utils import percentile_interval, stratified_bootstrap_indices
from tests.metrics._data import make_scores


def _models(seed=0):
    y, p, sf = make_scores(300, seed=seed)
    noisy = np.clip(p + np.random.default_rng(seed).normal(0, 0.2, p.size), 0, 1)
    return y, {"base": p, "noisy": noisy}, sf


def test_estimates_equal_group_report_of_each_model():
    y, scores, sf = _models()
    frame = compare_models(
        y,
        scores,
        sensitive_features=sf.race,
        reference="base",
        n_bootstrap=0,
        metrics=["roc_auc", "brier_score"],
    )
    for name, column in [("noisy", "estimate"), ("base", "reference_estimate")]:
        report = group_report(
            y,
            scores[name],
            sensitive_features=sf.race,
            n_bootstrap=0,
            metrics=["roc_auc", "brier_score"],
        ).to_frame()
        np.testing.assert_allclose(frame[column], report.estimate, atol=1e-12)
    np.testing.assert_allclose(
        frame.difference, frame.estimate - frame.reference_estimate
    )
    assert set(frame.model) == {"noisy"} and set(frame.reference) == {"base"}


def test_difference_intervals_equal_naive_paired_bootstrap():
    y, scores, sf = _models(1)
    race = sf.race.to_numpy()
    frame = compare_models(
        y,
        scores,
        sensitive_features=race,
        reference="base",
        metrics="roc_auc",
        n_bootstrap=30,
        random_state=5,
    )
    strata = np.unique(race, return_inverse=True)[1]
    indices = list(
        stratified_bootstrap_indices(strata, 30, sort_by=scores["base"], random_state=5)
    )
    for group in ["Asian", "Black", "White"]:
        differences = []
        for idx in indices:
            rows = idx[race[idx] == group]
            differences.append(
                skm.roc_auc_score(y[rows], scores["noisy"][rows])
                - skm.roc_auc_score(y[rows], scores["base"][rows])
            )
        low, high = percentile_interval(np.array(differences), 0.95)
        row = frame[frame.group == group].iloc[0]
        assert row.ci_low == pytest.approx(low, abs=1e-10)
        assert row.ci_high == pytest.approx(high, abs=1e-10)


def test_paired_interval_is_narrower_than_independent_intervals():
    y, scores, sf = _models(2)
    kwargs = {"sensitive_features": sf.sex, "metrics": "roc_auc", "n_bootstrap": 200}
    frame = compare_models(y, scores, reference="base", random_state=0, **kwargs)
    overall = frame[frame.group == "overall"].iloc[0]
    separate = [
        group_report(y, scores[m], random_state=0, **kwargs).to_frame().iloc[0]
        for m in scores
    ]
    independent = sum(r.ci_high - r.ci_low for r in separate)
    assert overall.ci_high - overall.ci_low < independent


def test_bad_arguments():
    y, scores, sf = _models()
    with pytest.raises(ValueError, match="reference='other'"):
        compare_models(y, scores, sensitive_features=sf.sex, reference="other")
    with pytest.raises(TypeError, match="at least two"):
        compare_models(
            y, {"base": scores["base"]}, sensitive_features=sf.sex, reference="base"
        )
    with pytest.raises(ValueError, match="scores\\['noisy'\\] has 2 rows"):
        compare_models(
            y,
            {**scores, "noisy": [0.1, 0.2]},
            reference="base",
            sensitive_features=sf.sex,
        )


def test_small_groups_are_flagged():
    y, scores, sf = _models()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(SmallGroupWarning):
            compare_models(
                y,
                scores,
                sensitive_features=sf,
                reference="base",
                n_bootstrap=0,
                min_group_size=60,
            )
