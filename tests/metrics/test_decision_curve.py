import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from healthbalance.metrics import (
    DecisionCurve,
    SmallGroupWarning,
    compare_models,
    decision_curve,
    group_report,
)
from healthbalance.utils._bootstrap import stratified_bootstrap_indices

DATA = Path(__file__).parent / "data"
COLUMNS = [
    "attribute",
    "group",
    "threshold",
    "net_benefit",
    "ci_low",
    "ci_high",
    "treat_all",
    "net_interventions_avoided",
    "n",
    "n_events",
    "reliable",
]


def _quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        return decision_curve(*args, **kwargs)


def _cohort(n=600, seed=0, groups=("A", "B", "C")):
    rng = np.random.default_rng(seed)
    group = rng.choice(list(groups), n)
    shift = {g: 0.4 * i for i, g in enumerate(groups)}
    logit = -1.5 + np.array([shift[g] for g in group]) + rng.standard_normal(n)
    risk = 1 / (1 + np.exp(-logit))
    return rng.uniform(size=n) < risk, risk, group


def _brute_net_benefit(y, score, t):
    treated = score >= t
    tp, fp = np.sum(treated & y), np.sum(treated & ~y)
    return tp / y.size - fp / y.size * t / (1 - t)


def test_net_benefit_equals_the_dcurves_reference_table():
    """dcurves 1.1.7 on its own example data (make_dcurves_fixture.py), to 1e-12."""
    data = pd.read_csv(DATA / "dcurves_input.csv")
    expected = pd.read_csv(DATA / "dcurves_net_benefit.csv")
    # pandas 2's default parser can read 0.07 an ulp off: merge on the 0.01 grid
    expected["threshold"] = expected["threshold"].round(2)
    models = {m: data[m].to_numpy(float) for m in ("cancerpredmarker", "famhistory")}
    curve = _quiet(
        data["cancer"], models, sensitive_features=data["risk_group"], n_bootstrap=0
    )
    frame = curve.to_frame()
    merged = frame.merge(expected, on=["group", "model", "threshold"])
    assert len(merged) == len(frame) == 2 * 4 * 99
    np.testing.assert_allclose(
        merged["net_benefit_x"], merged["net_benefit_y"], rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        merged["net_interventions_avoided"],
        merged["net_intervention_avoided"],
        rtol=0,
        atol=1e-12,
    )
    treat_all = frame.merge(
        expected[expected["model"] == "all"], on=["group", "threshold"]
    )
    np.testing.assert_allclose(
        treat_all["treat_all"], treat_all["net_benefit_y"], rtol=0, atol=1e-12
    )


def test_default_thresholds_and_exact_columns():
    y, p, g = _cohort()
    curve = _quiet(y, p, sensitive_features=g, n_bootstrap=0)
    frame = curve.to_frame()
    assert frame.columns.tolist() == COLUMNS
    np.testing.assert_allclose(curve.thresholds, np.arange(1, 100) / 100)
    assert frame[frame["attribute"] == "overall"]["group"].eq("overall").all()
    assert len(frame) == 4 * 99
    assert frame["ci_low"].isna().all()  # no replicates, no interval


def test_ties_at_the_threshold_count_as_treated_brute_force():
    """Scores on a 0.05 grid tie with the thresholds: score >= t is treated."""
    y, p, g = _cohort(800, seed=1)
    grid = np.round(np.round(p * 20) / 20, 2)
    thresholds = np.round(np.arange(1, 20) / 20, 2)
    frame = _quiet(
        y, grid, sensitive_features=g, thresholds=thresholds, n_bootstrap=0
    ).to_frame()
    for row in frame.itertuples():
        rows = np.ones(y.size, bool) if row.group == "overall" else g == row.group
        expected = _brute_net_benefit(y[rows], grid[rows], row.threshold)
        assert row.net_benefit == pytest.approx(expected, abs=1e-12)
        prevalence = y[rows].mean()
        w = row.threshold / (1 - row.threshold)
        assert row.treat_all == pytest.approx(prevalence - (1 - prevalence) * w)
        assert row.n == rows.sum() and row.n_events == y[rows].sum()


def test_replicates_are_a_stratified_bootstrap_of_the_rows():
    """Intervals from a brute-force loop over the documented bootstrap indices."""
    y, p, g = _cohort(300, seed=2)
    thresholds = [0.1, 0.3]
    curve = _quiet(
        y,
        p,
        sensitive_features=g,
        thresholds=thresholds,
        n_bootstrap=60,
        random_state=5,
    )
    codes = pd.factorize(g, sort=True)[0]
    names = ["overall", "A", "B", "C"]
    brute = np.array(
        [
            [
                [
                    _brute_net_benefit(
                        y[i][(name == "overall") | (g[i] == name)],
                        p[i][(name == "overall") | (g[i] == name)],
                        t,
                    )
                    for t in thresholds
                ]
                for name in names
            ]
            for i in stratified_bootstrap_indices(codes, 60, sort_by=p, random_state=5)
        ]
    )
    np.testing.assert_allclose(curve._replicates[:, 0], brute, atol=1e-12)
    frame = curve.to_frame()
    low = np.quantile(brute, 0.025, axis=0).ravel()
    np.testing.assert_allclose(frame["ci_low"], low, atol=1e-12)


def test_replicates_are_paired_with_group_report():
    y, p, g = _cohort(500, seed=3)
    curve = _quiet(
        y, p, sensitive_features=g, thresholds=[0.25], n_bootstrap=40, random_state=1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        report = group_report(
            y,
            p,
            sensitive_features=g,
            metrics=["net_benefit"],
            threshold=0.25,
            n_bootstrap=40,
            random_state=1,
        )
    np.testing.assert_allclose(
        curve._replicates[:, 0, :, 0], report._replicates[:, :, 0], atol=1e-12
    )
    np.testing.assert_allclose(
        curve.to_frame()["ci_high"],
        report.to_frame()["ci_high"],
        atol=1e-12,
    )


@pytest.mark.parametrize("container", ["list", "ndarray", "pandas"])
def test_input_containers_give_the_same_curves(container):
    y, p, g = _cohort(300, seed=8)
    expected = _quiet(y, p, sensitive_features=g, thresholds=[0.2], n_bootstrap=0)
    if container == "list":
        y, p, g = y.tolist(), p.tolist(), g.tolist()
    elif container == "pandas":
        y, p, g = pd.Series(y), pd.Series(p), pd.Series(g, name="race")
    frame = _quiet(y, p, sensitive_features=g, thresholds=[0.2], n_bootstrap=0)
    columns = ["group", "net_benefit", "treat_all", "n", "n_events"]
    pd.testing.assert_frame_equal(
        frame.to_frame()[columns], expected.to_frame()[columns]
    )


def test_groups_and_intersections_are_those_of_group_report():
    y, p, g = _cohort(800, seed=9)
    sex = np.random.default_rng(1).choice(["F", "M"], y.size)
    features = pd.DataFrame({"race": g, "sex": sex})
    curve = _quiet(y, p, sensitive_features=features, thresholds=[0.2], n_bootstrap=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        report = group_report(
            y, p, sensitive_features=features, metrics=["net_benefit"],
            threshold=0.2, n_bootstrap=0,
        ).to_frame()  # fmt: skip
    frame = curve.to_frame()
    keys = ["attribute", "group", "n", "n_events", "reliable"]
    pd.testing.assert_frame_equal(frame[keys], report[keys])
    np.testing.assert_allclose(frame["net_benefit"], report["estimate"], atol=1e-15)
    both = frame[frame["attribute"] == "race & sex"].iloc[0]
    race, sex_label = both["group"].split(" & ")
    rows = (g == race) & (sex == sex_label)
    expected = _brute_net_benefit(y[rows], p[rows], 0.2)
    assert both["net_benefit"] == pytest.approx(expected, abs=1e-12)


def test_resampling_all_rows_is_group_report_stratify_none():
    y, p, g = _cohort(300, seed=10)
    curve = _quiet(
        y, p, sensitive_features=g, thresholds=[0.15], n_bootstrap=30,
        stratify="none", random_state=2,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        report = group_report(
            y, p, sensitive_features=g, metrics=["net_benefit"], threshold=0.15,
            n_bootstrap=30, stratify="none", random_state=2,
        )  # fmt: skip
    np.testing.assert_allclose(
        curve._replicates[:, 0, :, 0], report._replicates[:, :, 0], atol=1e-12
    )


def test_results_do_not_depend_on_n_jobs():
    y, p, g = _cohort(2000, seed=11)
    frames = [
        _quiet(
            y, p, sensitive_features=g, n_bootstrap=40, random_state=0, n_jobs=n
        ).to_frame()
        for n in (1, 2)
    ]
    pd.testing.assert_frame_equal(*frames)


def test_differences_are_paired_like_compare_models():
    """The reference orders the rows, as in compare_models: same replicates."""
    y, p, g = _cohort(400, seed=12)
    other = np.clip(p * 1.3, 0, 1)
    scores = {"other": other, "erm": p}  # the reference is not the first key
    curve = _quiet(
        y, scores, sensitive_features=g, thresholds=[0.2], reference="erm",
        n_bootstrap=40, random_state=3,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        compared = compare_models(
            y, scores, sensitive_features=g, reference="erm",
            metrics=["net_benefit"], threshold=0.2, n_bootstrap=40, random_state=3,
        )  # fmt: skip
    frame = curve.to_frame()
    assert frame["model"].unique().tolist() == ["erm", "other"]
    mine = frame[frame["model"] == "other"].reset_index(drop=True)
    np.testing.assert_allclose(mine["difference"], compared["difference"], atol=1e-12)
    np.testing.assert_allclose(
        mine["difference_ci_low"], compared["ci_low"], atol=1e-12
    )


def test_paired_difference_to_the_reference_model():
    y, p, g = _cohort(500, seed=4)
    noisy = np.clip(p + np.random.default_rng(0).normal(0, 0.1, p.size), 0, 1)
    curve = _quiet(
        y,
        {"erm": p, "noisy": noisy},
        sensitive_features=g,
        thresholds=[0.1, 0.2],
        reference="erm",
        n_bootstrap=50,
        random_state=0,
    )
    frame = curve.to_frame()
    assert frame.columns.tolist() == [
        "model",
        *COLUMNS,
        "difference",
        "difference_ci_low",
        "difference_ci_high",
    ]
    erm, other = frame[frame.model == "erm"], frame[frame.model == "noisy"]
    np.testing.assert_allclose(
        other["difference"].to_numpy(),
        other["net_benefit"].to_numpy() - erm["net_benefit"].to_numpy(),
    )
    assert (erm["difference"] == 0).all()
    diff = curve._replicates[:, 1] - curve._replicates[:, 0]
    high = np.quantile(diff, 0.975, axis=0).ravel()
    np.testing.assert_allclose(other["difference_ci_high"], high, atol=1e-12)
    # a difference's interval is narrower than either curve's: the pairing
    width = other["difference_ci_high"] - other["difference_ci_low"]
    assert (width.to_numpy() < (other["ci_high"] - other["ci_low"]).to_numpy()).all()


def test_dict_without_reference_has_a_model_column_only():
    y, p, g = _cohort(300)
    frame = _quiet(
        y, {"a": p, "b": 1 - p}, sensitive_features=g, thresholds=[0.2], n_bootstrap=0
    ).to_frame()
    assert frame.columns.tolist() == ["model", *COLUMNS]
    assert frame["model"].tolist() == ["a"] * 4 + ["b"] * 4


def test_unreliable_groups_are_flagged_and_named():
    y, p, g = _cohort(400)
    g = g.astype(object)
    g[:12] = "tiny"
    with pytest.warns(SmallGroupWarning, match="tiny"):
        frame = decision_curve(
            y, p, sensitive_features=g, thresholds=[0.2], n_bootstrap=0
        ).to_frame()
    reliable = dict(zip(frame["group"], frame["reliable"], strict=True))
    assert not reliable["tiny"] and reliable["overall"] and reliable["A"]


def _confusion(y, p, t):
    treated = p >= t
    return [
        np.sum(treated & y),
        np.sum(treated & ~y),
        np.sum(~treated & y),
        np.sum(~treated & ~y),
    ]


def test_suppressed_curves_release_no_small_count():
    """Released net benefits rest on TP, FP, FN, TN of 0 or >= 11 (brute force);
    no count below 11 is shown; masking never leaves one group alone."""
    y, p, g = _cohort(700, seed=6, groups=("A", "B", "C", "D"))
    g = g.astype(object)
    g[:15] = "E"  # 15 patients, events or non-events below 11
    thresholds = np.round(np.arange(1, 20) / 20, 2)
    curve = _quiet(y, p, sensitive_features=g, thresholds=thresholds, n_bootstrap=20)
    raw, frame = curve.to_frame(), curve.to_frame(suppress_below=11)
    assert frame.columns.tolist() == COLUMNS
    for column in ("n", "n_events"):
        released = frame[column].dropna().to_numpy(float)
        assert ((released == 0) | (released >= 11)).all()
    assert frame.loc[frame["group"] == "E", "net_benefit"].isna().all()
    for row in frame[frame["net_benefit"].notna()].itertuples():
        rows = np.ones(y.size, bool) if row.group == "overall" else g == row.group
        cells = np.array(_confusion(y[rows], p[rows], row.threshold))
        assert ((cells == 0) | (cells >= 11)).all(), row
    for _, block in frame[frame["attribute"] != "overall"].groupby("threshold"):
        assert block["net_benefit"].isna().sum() != 1
    masked = frame["net_benefit"].isna()
    assert frame.loc[masked, ["ci_low", "treat_all"]].isna().all().all()
    assert raw["net_benefit"].notna().all()


def test_suppression_masks_differences_of_masked_curves():
    y, p, g = _cohort(500, seed=7)
    curve = _quiet(
        y,
        {"erm": p, "other": p**2},
        sensitive_features=g,
        thresholds=[0.05, 0.5, 0.8],
        reference="erm",
        n_bootstrap=10,
        random_state=0,
    )
    frame = curve.to_frame(suppress_below=11)
    erm, other = frame[frame.model == "erm"], frame[frame.model == "other"]
    either = erm["net_benefit"].isna().to_numpy() | other["net_benefit"].isna()
    assert either.any() and not either.all()  # the test means something
    np.testing.assert_array_equal(other["difference"].isna(), either)
    np.testing.assert_array_equal(erm["difference"].isna(), erm["net_benefit"].isna())
    assert other["difference_ci_low"].isna().eq(other["difference"].isna()).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"thresholds": [0.0, 0.5]}, "thresholds must be probabilities in"),
        ({"thresholds": []}, "thresholds must be probabilities in"),
        ({"thresholds": ["low"]}, "thresholds must be probabilities in"),
        ({"reference": "erm"}, "needs y_score to be a dict"),
        ({"n_bootstrap": -1}, "n_bootstrap must be a non-negative integer"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, match):
    y, p, g = _cohort(100)
    with pytest.raises(ValueError, match=match):
        _quiet(y, p, sensitive_features=g, **kwargs)


def test_reference_must_be_a_model():
    y, p, g = _cohort(100)
    with pytest.raises(ValueError, match="not a key of y_score"):
        _quiet(y, {"a": p}, sensitive_features=g, reference="b")


def test_plot_is_saved_and_reopened(tmp_path):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y, p, g = _cohort(600)
    curve = _quiet(
        y,
        {"erm": p, "x": p / 2},
        sensitive_features=g,
        n_bootstrap=20,
        random_state=0,
    )
    assert isinstance(curve, DecisionCurve)
    ax = curve.plot(model="x", suppress_below=11)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["A", "B", "C"] and "treat none" in labels
    assert len(ax.collections) == 3  # one band per group
    fig = ax.figure
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 > ax.get_window_extent().x1  # outside the axes
    path = tmp_path / "decision_curve.png"
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    image = plt.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    with pytest.raises(ValueError, match="model 'nope' is not in this curve"):
        curve.plot(model="nope")


def test_net_benefit_intervals_cover_per_group():
    """200 data sets, two groups (600 and 300 patients, ~13% and ~24% events), a
    calibrated score: the 95% intervals cover the population net benefit
    (``E[p 1(p >= t)] - E[(1 - p) 1(p >= t)] t / (1 - t)`` on 2,000,000 draws per
    group, no code of ours) in 0.88 to 0.99 of the data sets per group and
    threshold, 0.92 on average (an interval holding the outcomes fixed covers far
    less). The full table is ``benchmarks/bench_coverage.py --decision-curve``.
    """
    thresholds = np.array([0.05, 0.1, 0.2, 0.3, 0.5])
    mus, sizes = {"A": -2.2, "B": -1.4}, {"A": 600, "B": 300}
    truth_rng = np.random.default_rng(99)
    truth = {}
    for g, mu in mus.items():
        p = 1 / (1 + np.exp(-(mu + truth_rng.standard_normal(2_000_000))))
        treated = p[:, None] >= thresholds
        w = thresholds / (1 - thresholds)
        truth[g] = (p[:, None] * treated).mean(0) - ((1 - p[:, None]) * treated).mean(
            0
        ) * w
    rng, hits = np.random.default_rng(0), {g: np.zeros(thresholds.size) for g in mus}
    for seed in range(200):
        g = np.repeat(list(sizes), list(sizes.values()))
        mu = np.where(g == "A", mus["A"], mus["B"])
        p = 1 / (1 + np.exp(-(mu + rng.standard_normal(g.size))))
        y = rng.uniform(size=g.size) < p
        frame = _quiet(
            y,
            p,
            sensitive_features=g,
            thresholds=thresholds,
            n_bootstrap=200,
            random_state=seed,
        ).to_frame()
        for name in mus:
            rows = frame[frame["group"] == name]
            low, high = rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy()
            hits[name] += (low <= truth[name]) & (truth[name] <= high)
    # measured: A 0.915-0.945, B 0.90-0.945 (Monte Carlo error 0.015)
    coverage = np.array([h / 200 for h in hits.values()])
    assert ((coverage >= 0.88) & (coverage <= 0.99)).all(), coverage
    assert coverage.mean() >= 0.92, coverage
