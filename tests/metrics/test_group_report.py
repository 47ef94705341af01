import re
import warnings

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from sklearn import metrics as skm

from healthbalance import NoSensitiveFeaturesWarning
from healthbalance._groups import encode_groups
from healthbalance._sensitive import group_labels
from healthbalance.metrics import GroupReport, SmallGroupWarning, group_report
from healthbalance.utils import percentile_interval, stratified_bootstrap_indices
from tests.metrics._data import make_scores

SKLEARN = {
    "roc_auc": skm.roc_auc_score,
    "average_precision": skm.average_precision_score,
    "brier_score": skm.brier_score_loss,
    "sensitivity": lambda y, p: skm.recall_score(y, p >= 0.5),
    "ppv": lambda y, p: skm.precision_score(y, p >= 0.5, zero_division=np.nan),
}


def _report(y, p, sf, **kwargs):
    kwargs = {"n_bootstrap": 0, "random_state": 0, **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        return group_report(y, p, sensitive_features=sf, **kwargs)


def _estimate(frame, attribute, group, metric, column="estimate"):
    row = frame[
        (frame.attribute == attribute)
        & (frame.group == group)
        & (frame.metric == metric)
    ]
    assert len(row) == 1
    return row[column].iloc[0]


def test_frame_layout_overall_attributes_and_intersections(data):
    y, p, sf = data
    frame = _report(y, p, sf, metrics=["roc_auc", "n"]).to_frame()
    assert frame.columns.tolist() == [
        "attribute",
        "group",
        "metric",
        "estimate",
        "ci_low",
        "ci_high",
        "n",
        "n_events",
        "smallest_confusion_count",
        "n_failed",
        "reliable",
        "reason",
    ]
    keys = frame.drop_duplicates(["attribute", "group"])
    assert keys.iloc[0][["attribute", "group"]].tolist() == ["overall", "overall"]
    assert set(keys.attribute) == {"overall", "race", "sex", "race & sex"}
    assert "Black & F" in set(keys.group)
    assert _estimate(frame, "overall", "overall", "n") == y.size
    assert _estimate(frame, "race & sex", "Asian & M", "n") == np.sum(
        (sf.race == "Asian") & (sf.sex == "M")
    )


def test_no_intersections_when_disabled(data):
    y, p, sf = data
    frame = _report(y, p, sf, metrics="roc_auc", intersections=False).to_frame()
    assert set(frame.attribute) == {"overall", "race", "sex"}


@pytest.mark.parametrize("container", [list, np.asarray, pd.Series])
def test_point_estimates_equal_sklearn_per_group(data, container):
    y, p, sf = data
    frame = _report(container(y), container(p), sf, metrics=list(SKLEARN)).to_frame()
    labels = {"race": sf.race, "sex": sf.sex, "race & sex": group_labels(sf)}
    for attribute, values in labels.items():
        for group in np.unique(values):
            rows = np.asarray(values == group)
            for metric, function in SKLEARN.items():
                expected = function(y[rows], p[rows])
                assert _estimate(frame, attribute, group, metric) == pytest.approx(
                    expected, abs=1e-10, nan_ok=True
                )


def test_point_estimates_equal_fairlearn_metricframe(data):
    y, p, sf = data
    frame = _report(y, p, sf[["race"]], metrics=list(SKLEARN)).to_frame()
    fairlearn = MetricFrame(
        metrics=SKLEARN, y_true=y, y_pred=p, sensitive_features=sf.race
    )
    for metric in SKLEARN:
        assert _estimate(frame, "overall", "overall", metric) == pytest.approx(
            fairlearn.overall[metric], abs=1e-10
        )
        for group, expected in fairlearn.by_group[metric].items():
            assert _estimate(frame, "race", group, metric) == pytest.approx(
                expected, abs=1e-10
            )


def _naive_replicates(
    y, p, sf, n_bootstrap, metrics, random_state, stratify="intersection"
):
    """sklearn on the rows of each replicate, drawn with the same indices.

    The strata are the finest intersections, or one stratum of all rows; rows are
    in the order of the report's sorted data (intersection, score, outcome).
    """
    codes, _ = encode_groups(group_labels(sf))
    strata = codes if stratify == "intersection" else np.zeros_like(codes)
    sort_by = np.argsort(np.lexsort((y, p, codes)))
    replicates = {}
    indices = stratified_bootstrap_indices(
        strata, n_bootstrap, sort_by=sort_by, random_state=random_state
    )
    for idx in indices:
        yb, pb = y[idx], p[idx]
        groups = {("overall", "overall"): np.ones(y.size, bool)}
        for column in sf.columns:
            values = sf[column].to_numpy()[idx]
            groups |= {(column, g): values == g for g in np.unique(values)}
        for key, rows in groups.items():
            for metric, function in metrics.items():
                value = function(yb[rows], pb[rows])
                replicates.setdefault((*key, metric), []).append(value)
    return replicates


@pytest.mark.parametrize("stratify", ["intersection", "none"])
def test_bootstrap_intervals_equal_naive_bootstrap_with_same_indices(stratify):
    y, p, sf = make_scores(300, seed=3, ties=True)
    with warnings.catch_warnings():
        # small groups lose all their events in some plain-resampling replicates
        warnings.simplefilter("ignore", SmallGroupWarning)
        report = group_report(
            y,
            p,
            sensitive_features=sf,
            metrics=list(SKLEARN),
            n_bootstrap=40,
            confidence_level=0.9,
            random_state=7,
            intersections=False,
            min_group_size=1,
            min_events=1,
            stratify=stratify,
            proportion_interval="percentile",  # the bootstrap for every metric
        )
    frame = report.to_frame()
    naive = _naive_replicates(y, p, sf, 40, SKLEARN, 7, stratify)
    for (attribute, group, metric), values in naive.items():
        low, high = percentile_interval(np.array(values), 0.9)
        assert _estimate(frame, attribute, group, metric, "ci_low") == pytest.approx(
            low, abs=1e-10
        )
        assert _estimate(frame, attribute, group, metric, "ci_high") == pytest.approx(
            high, abs=1e-10
        )


def test_disparity_intervals_are_paired_naive_differences():
    y, p, sf = make_scores(300, seed=4)
    sf = sf[["race"]]
    report = _report(y, p, sf, metrics="roc_auc", n_bootstrap=30, random_state=1)
    naive = _naive_replicates(y, p, sf, 30, {"roc_auc": SKLEARN["roc_auc"]}, 1)
    disparity = report.disparity("roc_auc", reference="White")
    reference = np.array(naive[("race", "White", "roc_auc")])
    for _, row in disparity.iterrows():
        values = np.array(naive[("race", row.group, "roc_auc")])
        low, high = percentile_interval(values - reference, 0.95)
        assert row.difference_ci_low == pytest.approx(low, abs=1e-10)
        assert row.difference_ci_high == pytest.approx(high, abs=1e-10)
        assert row.ratio == pytest.approx(row.estimate / row.reference_estimate)
    white = disparity[disparity.group == "White"].iloc[0]
    assert white.difference == 0 and white.difference_ci_low == 0


def test_disparity_best_reference_and_worst_group(data):
    y, p, sf = data
    report = _report(y, p, sf, metrics=["roc_auc", "brier_score"], n_bootstrap=20)
    frame = report.to_frame()
    race = frame[(frame.attribute == "race") & (frame.metric == "brier_score")]
    disparity = report.disparity("brier_score", attribute="race")
    assert set(disparity.reference) == {race.loc[race.estimate.idxmin(), "group"]}
    worst = report.worst_group("roc_auc")
    auc = frame[(frame.attribute == "sex") & (frame.metric == "roc_auc")]
    assert (
        worst.set_index("attribute").loc["sex", "group"]
        == (auc.loc[auc.estimate.idxmin(), "group"])
    )
    assert set(worst.attribute) == {"race", "sex", "race & sex"}
    with pytest.raises(ValueError, match="not a group"):
        report.disparity("roc_auc", reference="Martian")
    with pytest.raises(ValueError, match="not in this report"):
        report.worst_group("f1")


def test_callable_metric_equals_builtin_including_intervals(data):
    y, p, sf = data

    def auc(y_true, y_score):
        return skm.roc_auc_score(y_true, y_score)

    frame = _report(
        y, p, sf[["sex"]], metrics=["roc_auc", auc], n_bootstrap=15
    ).to_frame()
    builtin, custom = frame[frame.metric == "roc_auc"], frame[frame.metric == "auc"]
    for column in ["estimate", "ci_low", "ci_high"]:
        np.testing.assert_allclose(builtin[column], custom[column], atol=1e-10)


def test_results_do_not_depend_on_n_jobs():
    y, p, sf = make_scores(3000, seed=5)
    kwargs = {"metrics": ["roc_auc", "ece"], "n_bootstrap": 1500, "random_state": 3}
    one = _report(y, p, sf, n_jobs=1, **kwargs).to_frame()
    two = _report(y, p, sf, n_jobs=2, **kwargs).to_frame()
    pd.testing.assert_frame_equal(one, two)


def test_missing_values_are_their_own_group(data):
    y, p, sf = data
    race = sf.race.astype(object).copy()
    race.iloc[:25] = None
    frame = _report(y, p, race, metrics="n").to_frame()
    assert _estimate(frame, "race", "(missing)", "n") == 25


def test_one_class_group_is_flagged_not_crashing(data):
    y, p, sf = data
    group = np.where(np.arange(y.size) < 40, "tiny", "big")
    y = y.copy()
    y[:40] = 0
    with pytest.warns(SmallGroupWarning, match="tiny"):
        report = group_report(
            y,
            p,
            sensitive_features=group,
            metrics=["roc_auc", "brier_score"],
            n_bootstrap=10,
            random_state=0,
        )
    frame = report.to_frame()
    tiny = frame[frame.group == "tiny"].set_index("metric")
    assert not tiny.reliable.any()
    assert np.isnan(tiny.loc["roc_auc", "estimate"])
    assert "no events" in tiny.loc["roc_auc", "reason"]
    assert "one outcome class" in tiny.loc["brier_score", "reason"]
    assert tiny.loc["brier_score", "estimate"] == pytest.approx(
        skm.brier_score_loss(y[:40], p[:40])
    )


def test_small_group_is_flagged_with_reason(data):
    y, p, sf = data
    with pytest.warns(SmallGroupWarning, match="Asian"):
        frame = group_report(
            y,
            p,
            sensitive_features=sf.race,
            metrics="roc_auc",
            n_bootstrap=0,
            min_group_size=100,
        ).to_frame()
    asian = frame[frame.group == "Asian"].iloc[0]
    assert not asian.reliable and "fewer than 100 patients" in asian.reason
    assert str(asian.n) not in asian.reason


def test_no_sensitive_features_is_one_group(data):
    y, p, _ = data
    with pytest.warns(NoSensitiveFeaturesWarning):
        frame = group_report(
            y, p, sensitive_features=None, metrics="n", n_bootstrap=0
        ).to_frame()
    assert frame.group.tolist() == ["overall", "all"]


def test_suppress_below_masks_small_counts_and_rates():
    y = np.r_[np.zeros(50, int), np.ones(50, int), np.zeros(8, int), np.ones(5, int)]
    p = np.linspace(0.05, 0.95, y.size)
    group = np.r_[np.full(100, "big"), np.full(13, "small")]
    report = _report(y, p, group, metrics=["sensitivity", "n"], n_bootstrap=10)
    full, masked = report.to_frame(), report.to_frame(suppress_below=11)
    small = masked[masked.group == "small"]
    assert small.estimate.isna().all() and small.ci_low.isna().all()
    assert small.n_events.isna().all() and (small.n == 13).all()
    # overall events minus big's would give small's 5 events: big is masked too
    big = masked[masked.group == "big"]
    assert big.n_events.isna().all() and big.estimate.isna().all()
    overall = masked.group == "overall"
    counts = ["n", "n_events"]
    pd.testing.assert_frame_equal(
        masked.loc[overall, counts], full.loc[overall, counts]
    )
    # small's 8 non-events all score above 0.5: 8 false positives overall too
    assert np.sum((p >= 0.5) & (y == 0)) == 8
    assert np.isnan(_estimate(masked, "overall", "overall", "sensitivity"))
    assert full[full.group == "small"].estimate.notna().all()
    with pytest.raises(ValueError, match="suppress_below"):
        report.to_frame(suppress_below=0)


CONFUSION_METRICS = ["sensitivity", "specificity", "ppv", "npv", "f1", "net_benefit"]


def _scores(rng, counts):
    """Outcomes and scores with ``(tp, fp, fn, tn)`` at threshold 0.5, shuffled."""
    tp, fp, fn, tn = counts
    y = np.r_[np.ones(tp + fn, int), np.zeros(fp + tn, int)]
    high, low = rng.uniform(0.5, 1, tp + fp), rng.uniform(0, 0.49, fn + tn)
    p = np.r_[high[:tp], low[:fn], high[tp:], low[fn:]]
    order = rng.permutation(y.size)
    return y[order], p[order]


def _brute_confusion(y, p):
    predicted = p >= 0.5
    return [
        int(np.sum(predicted & (y == 1))),
        int(np.sum(predicted & (y == 0))),
        int(np.sum(~predicted & (y == 1))),
        int(np.sum(~predicted & (y == 0))),
    ]


def test_one_false_negative_masks_every_confusion_metric():
    """Sensitivity 19/20 gives away the one missed event (issue 12)."""
    rng = np.random.default_rng(3)
    parts = {
        "one_fn": (19, 15, 1, 25),
        "large": (18, 12, 12, 18),
        "zero": (0, 0, 15, 30),
        "spare": (11, 11, 11, 11),  # the smallest sibling: masked by complement
    }
    drawn = {g: _scores(rng, c) for g, c in parts.items()}
    y = np.concatenate([d[0] for d in drawn.values()])
    p = np.concatenate([d[1] for d in drawn.values()])
    group = np.concatenate([np.full(d[0].size, g) for g, d in drawn.items()])
    brute = {g: _brute_confusion(y[group == g], p[group == g]) for g in parts}
    assert brute["one_fn"][2] == 1 and min(brute["one_fn"]) == 1
    assert min(c for c in brute["large"] if c) >= 11
    metrics = [*CONFUSION_METRICS, "roc_auc", "n"]
    report = _report(y, p, group, metrics=metrics, n_bootstrap=5)
    full, masked = report.to_frame(), report.to_frame(11)
    for g, counts in brute.items():
        rows = full[(full.group == g) & full.metric.isin(CONFUSION_METRICS)]
        assert (rows.smallest_confusion_count == min(c for c in counts if c)).all()
        assert (
            full[(full.group == g) & ~full.metric.isin(CONFUSION_METRICS)][
                "smallest_confusion_count"
            ]
            .isna()
            .all()
        )
    one = masked[(masked.group == "one_fn") & masked.metric.isin(CONFUSION_METRICS)]
    assert one[["estimate", "ci_low", "ci_high"]].isna().all().all()
    assert one.smallest_confusion_count.isna().all()
    assert one.reason.str.contains("fewer than 11 true/false positives").all()
    assert not one.reason.str.contains(r"\b1\b").any()
    other = masked[(masked.group == "one_fn") & ~masked.metric.isin(CONFUSION_METRICS)]
    assert other.estimate.notna().all() and (other.n == 60).all()
    # overall minus the other groups would give one_fn's counts: spare is masked
    spare = masked[(masked.group == "spare") & masked.metric.isin(CONFUSION_METRICS)]
    assert spare.estimate.isna().all() and spare.smallest_confusion_count.isna().all()
    assert spare.reason.str.contains("another group's true/false").all()
    for g in ("large", "zero"):
        kept = masked[masked.group == g].set_index("metric")
        assert kept.smallest_confusion_count[CONFUSION_METRICS].notna().all()
        assert kept.loc["sensitivity", "estimate"] == pytest.approx(
            skm.recall_score(y[group == g], p[group == g] >= 0.5)
        )
    # the point estimates are the brute-force ones, and 1 or None masks nothing
    large = brute["large"]
    assert _estimate(masked, "sensitive_feature", "large", "ppv") == pytest.approx(
        large[0] / (large[0] + large[1])
    )
    for unmasked in (report.to_frame(1), report.to_frame(None)):
        pd.testing.assert_frame_equal(unmasked, full)


@pytest.mark.parametrize(
    ("y", "p", "kwargs", "error", "match"),
    [
        ([0, 1, 1], [0.1, 0.2], {}, ValueError, "y_score has fewer than 11 rows"),
        ([0, 1], [0.1, np.nan], {}, ValueError, r"contains NaN or infinite .*impute"),
        ([0, 1], [0.1, np.inf], {}, ValueError, "NaN or infinite"),
        ([0, 1], [0.1, 1.5], {}, ValueError, "need probabilities"),
        ([0, 1, 2], [0.1, 0.2, 0.3], {}, ValueError, "must be binary"),
        (["no", "yes"], [0.1, 0.2], {}, ValueError, "pass pos_label"),
        (["no", "yes"], [0.1, 0.2], {"pos_label": "maybe"}, ValueError, "not one"),
        ([], [], {}, ValueError, "empty"),
        ([0, 1], [[0.9, 0.1], [0.2, 0.8]], {}, ValueError, r"proba\[:, 1\]"),
        ([0, 1], [0.1, 0.2], {"metrics": "auroc"}, ValueError, "unknown metric"),
        ([0, 1], [0.1, 0.2], {"threshold": 1.0}, ValueError, "threshold"),
        ([0, 1], [0.1, 0.2], {"confidence_level": 95}, ValueError, "confidence_level"),
        ([0, 1], [0.1, 0.2], {"n_bootstrap": -1}, ValueError, "n_bootstrap"),
        ([0, 1], ["a", "b"], {}, TypeError, "numeric"),
    ],
)
def test_bad_input_gives_clear_error(y, p, kwargs, error, match):
    with pytest.raises(error, match=match):
        group_report(y, p, sensitive_features=["a"] * len(y), **kwargs)


@pytest.mark.parametrize(("count", "shown"), [(3, "fewer than 11"), (12, "12")])
def test_counts_in_score_errors_follow_the_small_count_rule(count, shown):
    y = np.r_[np.zeros(10, int), np.ones(10, int)]
    with pytest.raises(ValueError, match=f"y_score has {shown} rows but y_true has 20"):
        group_report(y, np.full(count, 0.5), sensitive_features=["a"] * 20)
    scores = np.full(20, 0.5)
    scores[:count] = np.nan
    with pytest.raises(
        ValueError, match=rf"y_score contains NaN .*\({shown} rows\)"
    ) as info:
        group_report(y, scores, sensitive_features=["a"] * 20)
    assert not re.search(r"\b3\b", str(info.value))


def test_sensitive_features_length_mismatch():
    with pytest.raises(ValueError, match="sensitive_features has fewer than 11 rows"):
        group_report([0, 1], [0.1, 0.9], sensitive_features=["a", "b", "c"])


def test_string_labels_with_pos_label_and_scores_outside_unit_for_ranking(data):
    y, p, sf = data
    labels = np.where(y == 1, "died", "survived")
    logits = np.log(p + 1e-3) * 3
    ours = _report(labels, logits, sf.sex, metrics="roc_auc", pos_label="died")
    ref = _report(y, p, sf.sex, metrics="roc_auc")
    np.testing.assert_allclose(ours.to_frame().estimate, ref.to_frame().estimate)


def test_repr_html_and_repr(data):
    y, p, sf = data
    report = _report(y, p, sf.race, metrics=["roc_auc", "n"], n_bootstrap=10)
    html = report._repr_html_()
    assert "<table" in html and "roc_auc" in html and "Black" in html
    assert "GroupReport(" in repr(report)
    assert isinstance(report, GroupReport)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    permutation_seed=st.integers(0, 10_000),
    n=st.integers(40, 300),
    integer_labels=st.booleans(),
)
def test_row_order_does_not_change_the_report(
    seed, permutation_seed, n, integer_labels
):
    y, p, sf = make_scores(n, seed=seed, ties=True)
    if integer_labels:
        sf = sf.assign(race=sf.race.map({"Black": 0, "White": 1, "Asian": 2}))
    order = np.random.default_rng(permutation_seed).permutation(y.size)
    kwargs = {"metrics": ["roc_auc", "brier_score", "ppv"], "n_bootstrap": 20}
    a = _report(y, p, sf, **kwargs).to_frame()
    b = _report(y[order], p[order], sf.iloc[order], **kwargs).to_frame()
    pd.testing.assert_frame_equal(a, b, atol=1e-12, rtol=0)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(60, 400),
    attribute=st.sampled_from(["sex", "race"]),
)
def test_interval_contains_estimate_for_smooth_metrics(seed, n, attribute):
    y, p, sf = make_scores(n, seed=seed)
    frame = _report(
        y, p, sf[attribute], metrics=["brier_score", "log_loss"], n_bootstrap=100
    )
    frame = frame.to_frame()
    assert (frame.ci_low <= frame.estimate + 1e-12).all()
    assert (frame.estimate <= frame.ci_high + 1e-12).all()


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    names=st.permutations(["u", "v", "w"]),
    n=st.integers(60, 300),
)
def test_relabelling_groups_relabels_the_report(seed, names, n):
    y, p, sf = make_scores(n, seed=seed)
    mapping = dict(zip(["Asian", "Black", "White"], names, strict=True))
    kwargs = {"metrics": ["roc_auc", "sensitivity"], "n_bootstrap": 10}
    a = _report(y, p, sf.race, **kwargs).to_frame()
    b = _report(y, p, sf.race.map(mapping), **kwargs).to_frame()
    a["group"] = a.group.map(lambda g: mapping.get(g, g))
    key = ["attribute", "group", "metric"]
    a, b = (
        a.sort_values(key).reset_index(drop=True),
        b.sort_values(key).reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(
        a[key + ["estimate", "n"]], b[key + ["estimate", "n"]]
    )
    # a relabelling that keeps the sort order keeps the bootstrap strata too
    c = _report(y, p, "g_" + sf.race, **kwargs).to_frame()
    d = _report(y, p, sf.race, **kwargs).to_frame()
    np.testing.assert_array_equal(c.ci_low, d.ci_low)


def test_many_groups_use_the_gathered_path_and_still_equal_naive_bootstrap():
    # overall spans more strata than the merged path handles (MAX_PARTS)
    rng = np.random.default_rng(8)
    y = rng.binomial(1, 0.4, 400)
    p = np.round(np.clip(rng.beta(2, 4, 400) + 0.2 * y, 0, 1), 2)
    sf = pd.DataFrame({"site": rng.choice([f"s{k:02d}" for k in range(20)], 400)})
    metrics = {"roc_auc": SKLEARN["roc_auc"], "brier_score": SKLEARN["brier_score"]}
    frame = _report(y, p, sf, metrics=list(metrics), n_bootstrap=15, random_state=2)
    frame = frame.to_frame()
    naive = _naive_replicates(y, p, sf, 15, metrics, random_state=2)
    values = np.array(naive[("overall", "overall", "roc_auc")])
    low, high = percentile_interval(values, 0.95)
    assert _estimate(frame, "overall", "overall", "roc_auc", "ci_low") == pytest.approx(
        low, abs=1e-10
    )
    assert _estimate(
        frame, "overall", "overall", "roc_auc", "ci_high"
    ) == pytest.approx(high, abs=1e-10)


def _plain_numpy_intervals(y, p, codes, stratify, n_bootstrap, seed):
    """Independent bootstrap: indices drawn here with the documented design."""
    rng = np.random.default_rng(seed)
    blocks = (
        [np.arange(y.size)]
        if stratify == "none"
        else [np.flatnonzero(codes == c) for c in np.unique(codes)]
    )
    values = {}
    for _ in range(n_bootstrap):
        idx = np.concatenate([b[rng.integers(0, b.size, b.size)] for b in blocks])
        for key, rows in {"overall": idx, **_by_code(idx, codes)}.items():
            yb, pb = y[rows], p[rows]
            values.setdefault(key, []).append(
                [yb.mean(), np.mean((yb - pb) ** 2), np.mean(pb[yb == 1] >= 0.5)]
            )
    return {k: np.array(v) for k, v in values.items()}


def _by_code(idx, codes):
    return {str(c): idx[codes[idx] == c] for c in np.unique(codes)}


@pytest.mark.parametrize("stratify", ["intersection", "none"])
def test_intervals_agree_with_an_independent_numpy_bootstrap(stratify):
    """Interval endpoints agree with a plain loop to Monte Carlo accuracy."""
    rng = np.random.default_rng(5)
    g = rng.choice(["a", "b", "c"], 900, p=[0.6, 0.3, 0.1])
    y = rng.binomial(1, np.where(g == "c", 0.3, 0.15))
    p = np.clip(rng.beta(2, 5, g.size) + 0.3 * y, 0, 1)
    metrics = ["prevalence", "brier_score", "sensitivity"]
    frame = _report(
        y, p, g, metrics=metrics, n_bootstrap=1500, stratify=stratify, random_state=2
    ).to_frame()
    codes = np.unique(g, return_inverse=True)[1]
    naive = _plain_numpy_intervals(y, p, codes, stratify, 1500, seed=9)
    for key, values in naive.items():
        group = "overall" if key == "overall" else "abc"[int(key)]
        attribute = "overall" if key == "overall" else "sensitive_feature"
        for i, metric in enumerate(metrics):
            low, high = np.quantile(values[:, i], [0.025, 0.975])
            sd = values[:, i].std()
            # each 2.5% quantile of 1,500 replicates has an error of ~0.08 sd
            for column, expected in [("ci_low", low), ("ci_high", high)]:
                got = _estimate(frame, attribute, group, metric, column)
                assert got == pytest.approx(expected, abs=0.4 * sd)


@pytest.mark.parametrize("stratify", ["intersection", "none"])
def test_failed_replicates_are_counted_and_flag_the_row(stratify):
    rng = np.random.default_rng(0)
    g = np.where(np.arange(400) < 40, "small", "large")
    y = np.zeros(400, dtype=int)
    y[[3, 17]] = 1  # the small group has 2 events
    y[40:] = rng.binomial(1, 0.2, 360)
    p = rng.random(400)
    frame = _report(
        y,
        p,
        g,
        metrics=["sensitivity", "brier_score"],
        n_bootstrap=200,
        stratify=stratify,
        random_state=0,
        min_group_size=1,
        min_events=1,
        proportion_interval="percentile",  # Wilson intervals need no replicates
    ).to_frame()
    codes = np.unique(g, return_inverse=True)[1]
    strata = codes if stratify == "intersection" else np.zeros_like(codes)
    order = np.argsort(np.lexsort((y, p, codes)))
    no_events = sum(
        y[idx[g[idx] == "small"]].sum() == 0
        for idx in stratified_bootstrap_indices(
            strata, 200, sort_by=order, random_state=0
        )
    )
    small = frame[frame.group == "small"].set_index("metric")
    assert small.loc["sensitivity", "n_failed"] == no_events > 2
    assert not small.loc["sensitivity", "reliable"]
    reason = small.loc["sensitivity", "reason"]
    assert "undefined in more than 1% of the bootstrap replicates" in reason
    # the number of failed replicates hints at the events: only n_failed holds it
    assert not re.search(rf"\b{no_events}\b", reason)
    assert small.loc["brier_score", "n_failed"] == 0
    assert small.loc["brier_score", "reliable"]


def test_bad_stratify_is_rejected():
    y, p, sf = make_scores(50)
    with pytest.raises(ValueError, match="stratify must be one of"):
        group_report(y, p, sensitive_features=sf, stratify="outcome")


def test_wilson_intervals_equal_scipy_on_sklearn_counts():
    y, p, sf = make_scores(300, seed=3)
    metrics = ["prevalence", "sensitivity", "specificity", "ppv", "npv", "fnr", "fpr"]
    frame = _report(
        y,
        p,
        sf.race,
        metrics=metrics + ["roc_auc"],
        n_bootstrap=50,
        threshold=0.4,
        proportion_interval="wilson",
        random_state=0,
    ).to_frame()
    percentile = _report(
        y, p, sf.race, metrics=["roc_auc"], n_bootstrap=50, random_state=0
    ).to_frame()
    for group in ["overall", *np.unique(sf.race)]:
        rows = np.ones(y.size, bool) if group == "overall" else sf.race == group
        tn, fp, fn, tp = skm.confusion_matrix(
            y[rows], p[rows] >= 0.4, labels=[0, 1]
        ).ravel()
        counts = {
            "prevalence": (tp + fn, rows.sum()),
            "sensitivity": (tp, tp + fn),
            "specificity": (tn, tn + fp),
            "ppv": (tp, tp + fp),
            "npv": (tn, tn + fn),
            "fnr": (fn, tp + fn),
            "fpr": (fp, fp + tn),
        }
        got = frame[frame.group == group].set_index("metric")
        for metric, (k, n) in counts.items():
            ci = binomtest(int(k), int(n)).proportion_ci(0.95, method="wilson")
            assert got.loc[metric, "ci_low"] == pytest.approx(ci.low, abs=1e-12)
            assert got.loc[metric, "ci_high"] == pytest.approx(ci.high, abs=1e-12)
        expected = percentile[percentile.group == group].iloc[0]
        assert got.loc["roc_auc", "ci_low"] == expected.ci_low  # still percentile


def test_bad_proportion_interval_is_rejected():
    y, p, sf = make_scores(50)
    with pytest.raises(ValueError, match="proportion_interval must be one of"):
        group_report(y, p, sensitive_features=sf, proportion_interval="exact")


def test_proportions_get_wilson_intervals_by_default():
    """The default interval of a proportion is scipy's Wilson interval of its counts."""
    y, p, sf = make_scores(300, seed=5)
    frame = _report(y, p, sf[["race"]], metrics=["sensitivity", "roc_auc"]).to_frame()
    row = frame[(frame.group == "overall") & (frame.metric == "sensitivity")].iloc[0]
    events = y == 1
    tp = int(np.sum(p[events] >= 0.5))
    ci = binomtest(tp, int(events.sum())).proportion_ci(0.95, method="wilson")
    assert (row.ci_low, row.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-12)
    auroc = frame[(frame.group == "overall") & (frame.metric == "roc_auc")].iloc[0]
    assert np.isnan(auroc.ci_low)  # no replicates: the bootstrap metrics get none


def test_the_small_group_warning_counts_each_group_once():
    rng = np.random.default_rng(4)
    y = rng.binomial(1, 0.3, 400)
    p = np.clip(rng.random(400) * 0.5 + 0.4 * y, 0, 1)
    group = np.where(np.arange(400) < 12, "tiny", "big")
    with pytest.warns(SmallGroupWarning) as caught:
        group_report(y, p, sensitive_features=group, n_bootstrap=50, random_state=0)
    (message,) = [str(w.message) for w in caught if w.category is SmallGroupWarning]
    # one group, although its size and several failed metrics each flag it
    assert message.startswith("1 group is flagged reliable=False: "), message
    entries = message.split(": ", 1)[1].split("; ")
    assert len(entries) == len(set(entries))


def _attack(frame):
    """Confusion counts a reader solves by one subtraction (brute force)."""
    rows = frame.set_index(["attribute", "group", "metric"])
    known = {}
    keys = list(dict.fromkeys(zip(frame.attribute, frame.group, strict=True)))
    for attribute, group in keys:
        sens = rows.loc[(attribute, group, "sensitivity"), "estimate"]
        spec = rows.loc[(attribute, group, "specificity"), "estimate"]
        n = rows.loc[(attribute, group, "n"), "n"]
        events = rows.loc[(attribute, group, "n"), "n_events"]
        if not (pd.isna(sens) or pd.isna(spec) or pd.isna(n) or pd.isna(events)):
            tp, tn = round(sens * events), round(spec * (n - events))
            known[attribute, group] = np.array([tp, n - events - tn, events - tp, tn])
    partitions = [
        (("overall", "overall"), [k for k in keys if k[0] == a])
        for a in dict.fromkeys(frame.attribute)
        if a != "overall"
    ] + [
        (
            (a, g),
            [k for k in keys if k[0] == "race & sex" and k[1].startswith(g + " &")],
        )
        for a, g in keys
        if a == "race"
    ]
    recovered = []
    for total, parts in partitions:
        members = [total, *parts]
        unknown = [k for k in members if k not in known]
        if len(unknown) == 1:
            shown = sum(known[k] for k in parts if k in known)
            counts = known[total] - shown if unknown[0] != total else shown
            recovered += [c for c in counts if 0 < c < 11]
    return recovered


def test_no_confusion_count_below_11_by_subtraction():
    leaks = 0
    for seed in range(6):
        y, p, sf = make_scores(500, seed=seed)
        metrics = ["sensitivity", "specificity", "n"]
        report = _report(y, p, sf, metrics=metrics)
        full, masked = report.to_frame(), report.to_frame(11)
        assert _attack(masked) == [], seed
        # the attacker works: masking only each group's own small counts leaks
        own = full.copy()
        own.loc[own.smallest_confusion_count < 11, "estimate"] = np.nan
        leaks += bool(_attack(own))
    assert leaks >= 3
