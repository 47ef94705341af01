import re
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


def _unpaired_difference_interval(y, a, b, strata, n_bootstrap, seed):
    """Percentile interval of AUC(a) - AUC(b), each model on its own replicates.

    An independent reference: a stratified bootstrap written here with numpy, that
    draws the two models' replicates independently (no pairing).
    """
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(strata == s) for s in np.unique(strata)]

    def replicate():
        return np.concatenate([rng.choice(m, size=m.size) for m in members])

    differences = []
    for _ in range(n_bootstrap):
        i, j = replicate(), replicate()
        differences.append(
            skm.roc_auc_score(y[i], a[i]) - skm.roc_auc_score(y[j], b[j])
        )
    return np.quantile(differences, [0.025, 0.975])


def test_paired_interval_is_much_narrower_than_an_unpaired_one():
    # Two highly correlated models: their AUCs move together from one replicate to
    # the next, so only a paired bootstrap sees how small the difference's spread is.
    y, p, sf = make_scores(400, seed=2)
    close = np.clip(p + np.random.default_rng(2).normal(0, 0.02, p.size), 0, 1)
    frame = compare_models(
        y,
        {"base": p, "close": close},
        reference="base",
        sensitive_features=sf.sex,
        metrics="roc_auc",
        n_bootstrap=200,
        random_state=0,
    )
    overall = frame[frame.group == "overall"].iloc[0]
    sex = np.unique(sf.sex.to_numpy(), return_inverse=True)[1]
    low, high = _unpaired_difference_interval(y, close, p, sex * 2 + y, 200, seed=0)
    assert low < overall.difference < high
    assert overall.ci_high - overall.ci_low < 0.35 * (high - low)


def test_bad_arguments():
    y, scores, sf = _models()
    with pytest.raises(ValueError, match="reference='other'"):
        compare_models(y, scores, sensitive_features=sf.sex, reference="other")
    with pytest.raises(TypeError, match="at least two"):
        compare_models(
            y, {"base": scores["base"]}, sensitive_features=sf.sex, reference="base"
        )
    with pytest.raises(ValueError, match="scores\\['noisy'\\] has fewer than 11 rows"):
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


@pytest.mark.parametrize("stratify", ["intersection", "none"])
def test_failed_differences_are_counted_and_flag_the_row(stratify):
    # In group "small", the model "sharp" separates events from non-events except
    # through one non-event: every replicate without that row has no calibration
    # slope (the maximum does not exist), so neither has the difference.
    rng = np.random.default_rng(0)
    n_small = 40
    g = np.where(np.arange(400) < n_small, "small", "large")
    y = rng.binomial(1, 0.3, 400)
    y[:n_small] = np.arange(n_small) < 10
    base = np.clip(0.3 + 0.3 * y + rng.normal(0, 0.2, 400), 0.01, 0.99)
    sharp = base.copy()
    sharp[:n_small] = np.where(y[:n_small], 0.6, 0.1) + rng.uniform(0, 0.3, n_small)
    sharp[n_small - 1] = 0.75  # the one non-event among the events
    with pytest.warns(SmallGroupWarning, match="'small' \\(calibration_slope und"):
        frame = compare_models(
            y,
            {"base": base, "sharp": sharp},
            reference="base",
            sensitive_features=g,
            metrics=["calibration_slope", "brier_score"],
            n_bootstrap=200,
            stratify=stratify,
            random_state=0,
            min_group_size=1,
            min_events=1,
        )
    codes = np.unique(g, return_inverse=True)[1]
    strata = codes if stratify == "intersection" else np.zeros_like(codes)
    order = np.argsort(np.lexsort((y, base, codes)))
    failed = 0
    for idx in stratified_bootstrap_indices(strata, 200, sort_by=order, random_state=0):
        rows = idx[g[idx] == "small"]
        pos, neg = sharp[rows][y[rows] == 1], sharp[rows][y[rows] == 0]
        overlap = pos.size and neg.size and neg.max() > pos.min()
        failed += not (overlap and pos.max() > neg.min())
    small = frame[frame.group == "small"].set_index("metric")
    assert np.isfinite(small.loc["calibration_slope", "difference"])
    assert small.loc["calibration_slope", "n_failed"] == failed > 2
    assert not small.loc["calibration_slope", "reliable"]
    reason = small.loc["calibration_slope", "reason"]
    assert "calibration_slope undefined in more than 1% of the bootstrap" in reason
    assert not re.search(rf"\b{failed}\b", reason)
    assert small.loc["brier_score", "n_failed"] == 0
    assert small.loc["brier_score", "reliable"]
    assert small.loc["brier_score", "reason"] == ""


def test_difference_is_masked_when_either_model_has_a_small_confusion_count():
    """ppv 19/34 of the reference and a released difference give it back."""
    from healthbalance._small_counts import suppress

    rng = np.random.default_rng(1)
    y = np.r_[np.ones(20, int), np.zeros(40, int)]
    base = np.r_[rng.uniform(0.5, 1, 19), 0.2, rng.uniform(0.5, 1, 15),
                 rng.uniform(0, 0.4, 25)]  # fmt: skip
    good = np.r_[rng.uniform(0.5, 1, 12), rng.uniform(0, 0.4, 8 + 27),
                 rng.uniform(0.5, 1, 13)]  # fmt: skip
    fn = [int(np.sum((s < 0.5) & (y == 1))) for s in (base, good)]
    assert fn[0] == 1 and fn[1] != 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        frame = compare_models(
            y,
            {"base": base, "good": good},
            sensitive_features=np.full(y.size, "all"),
            reference="base",
            n_bootstrap=0,
            metrics=["ppv", "roc_auc"],
        )
    masked = suppress(frame, 11).set_index(["group", "metric"])
    ppv, auc = masked.loc[("all", "ppv")], masked.loc[("all", "roc_auc")]
    assert np.isnan([ppv.estimate, ppv.reference_estimate, ppv.difference]).all()
    assert np.isfinite([auc.estimate, auc.reference_estimate, auc.difference]).all()
    counts = frame.groupby("metric").smallest_confusion_count.first()
    assert counts["ppv"] == 1 and counts.isna()["roc_auc"]
