"""calibration_by_group: curves per group against scikit-learn and R's loess."""

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
import skmisc.loess as skmisc_loess
from sklearn.calibration import calibration_curve

from healthbalance.metrics import (
    CalibrationCurves,
    SmallGroupWarning,
    calibration_by_group,
)
from healthbalance.metrics._calibration_plot import shown_bars


def _data(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 5, n)
    y = rng.binomial(1, np.clip(1.2 * p, 0, 1))
    race = rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2])
    return y, p, race


def test_bins_equal_calibration_curve_per_group():
    y, p, race = _data()
    frame = calibration_by_group(
        y, p, sensitive_features=race, method="bins", n_bins=8, n_bootstrap=0
    ).to_frame()
    for group, mask in (("overall", np.ones(y.size, bool)), ("B", race == "B")):
        rows = frame[frame.group == group]
        prob_true, prob_pred = calibration_curve(y[mask], p[mask], n_bins=8)
        np.testing.assert_allclose(rows["observed"], prob_true, rtol=1e-12)
        np.testing.assert_allclose(rows["predicted"], prob_pred, rtol=1e-12)


def test_loess_curve_equals_r_loess_on_the_grid():
    y, p, race = _data(2000)
    frame = calibration_by_group(y, p, sensitive_features=race, n_bootstrap=0)
    rows = frame.to_frame().query("group == 'C'")  # fewer than 1,024 rows: exact
    model = skmisc_loess.loess(
        p[race == "C"], y[race == "C"] * 1.0, span=0.75, degree=2, surface="direct"
    )
    model.fit()
    expected = model.predict(rows["predicted"].to_numpy()).values
    np.testing.assert_allclose(rows["observed"], expected, atol=1e-8)
    inside = np.quantile(p[race == "C"], [0.01, 0.99])
    assert rows["predicted"].between(*inside).all()


@pytest.mark.parametrize("method", ["loess", "spline", "bins"])
def test_frame_is_tidy_with_bands(method):
    y, p, race = _data()
    curves = calibration_by_group(
        y, p, sensitive_features=race, method=method, n_bootstrap=40, random_state=0
    )
    assert isinstance(curves, CalibrationCurves)
    frame = curves.to_frame()
    assert frame.columns.tolist() == [
        "attribute",
        "group",
        "predicted",
        "observed",
        "ci_low",
        "ci_high",
        "n",
        "n_events",
        "reliable",
        "reason",
    ]
    assert set(frame.group) == {"overall", "A", "B", "C"}
    assert (frame["ci_low"] <= frame["ci_high"]).all()
    covered = frame["observed"].between(frame["ci_low"], frame["ci_high"]).mean()
    assert covered > 0.9
    sizes = frame.drop_duplicates("group").set_index("group")["n"]
    assert sizes["B"] == (race == "B").sum()


def test_small_groups_are_flagged_and_masked_on_export():
    y, p, race = _data(1000)
    race = race.astype(object)
    race[:6] = "D"  # six patients
    with pytest.warns(SmallGroupWarning, match="D"):
        curves = calibration_by_group(
            y, p, sensitive_features=race, method="bins", n_bootstrap=20
        )
    frame = curves.to_frame()
    assert not frame.loc[frame.group == "D", "reliable"].any()
    released = curves.to_frame(suppress_below=11)
    d = released[released.group == "D"]
    assert d["observed"].isna().all() and d["n"].isna().all()
    # complementary suppression: D's size must not be overall minus the others
    sizes = released.drop_duplicates("group").set_index("group")["n"]
    assert sizes.drop(["overall", "D"]).isna().sum() >= 1
    # bins of fewer than 11 patients, events or non-events are not shown
    index = np.searchsorted(np.linspace(0, 1, 11)[1:-1], p)
    counts = np.bincount(index, minlength=10)
    events = np.bincount(index, weights=y, minlength=10)
    few = np.minimum(events, counts - events) < 11
    shown = released.loc[released.group == "overall", "observed"].notna()
    assert shown.sum() <= (~few[counts > 0]).sum()


def _candidates(rate, n, events):
    """Brute force: every (patients, events) of one bin that its rate allows."""
    size = np.arange(1, n + 1)
    k = np.rint(rate * size)
    ok = (np.abs(k / size - rate) < 1e-9) & (k <= events) & (size - k <= n - events)
    return np.column_stack([size[ok], k[ok]]).astype(int)


def _sums(rates, n, events):
    """Brute force: every sum of (patients, events) of the released bins."""
    reach = np.zeros((n + 1, events + 1), dtype=bool)
    reach[0, 0] = True
    for rate in rates:
        step = np.zeros_like(reach)
        for size, k in _candidates(rate, n, events):
            step[size:, k:] |= reach[: n + 1 - size, : events + 1 - k]
        reach = step
    return np.argwhere(reach)


def _small(values):
    """Whether every possible value of a count lies in 1..10."""
    return len(values) and ((values >= 1) & (values <= 10)).all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_released_bins_pin_no_small_count(seed):
    # issue 15: a bin of 46 patients and 1 event was released as 1/46
    rng = np.random.default_rng(seed)
    g = rng.choice(["A", "B", "C"], 1500, p=[0.6, 0.3, 0.1])
    p = rng.beta(1.5, 6, 1500)
    y = (rng.random(1500) < p).astype(int)
    curves = calibration_by_group(
        y, p, sensitive_features=g, method="bins", n_bootstrap=0
    )
    released = curves.to_frame(suppress_below=11)
    for group in ["A", "B", "C"]:
        rows = released[released.group == group]
        n, events = int(rows["n"].iloc[0]), int(rows["n_events"].iloc[0])
        rates = rows["observed"].dropna().to_numpy()
        for rate in rates:
            c = _candidates(rate, n, events)
            assert not any(_small(v) for v in (c[:, 0], c[:, 1], c[:, 0] - c[:, 1]))
        k = int(rows["observed"].isna().sum())  # masked bins, none empty
        rest = [n, events] - _sums(rates, n, events)
        rest = rest[(rest[:, 0] >= k) & (rest[:, 1] <= rest[:, 0])]
        assert len(rest) or not k
        # the masked bins together (one bin when k == 1) hold the rest
        for v in (rest[:, 0], rest[:, 1], rest[:, 0] - rest[:, 1]):
            assert not _small(v)
        if k > 1:  # each masked bin holds at least one patient
            assert not (rest[:, 0] == k).all()


def test_plot_saves_one_panel_per_group(tmp_path):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y, p, race = _data()
    frame = pd.DataFrame({"race": race, "sex": np.where(p > 0.3, "F", "M")})
    curves = calibration_by_group(
        y, p, sensitive_features=frame, n_bootstrap=5, random_state=0
    )
    plt.close(curves.plot(attribute="sex", suppress_below=None))
    fig = curves.plot()
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["A", "B", "C"]
    assert fig.legends  # outside the panels
    path = tmp_path / "calibration.png"
    fig.savefig(path)
    plt.close(fig)
    image = plt.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 300
    with pytest.raises(ValueError, match="attribute 'nope' is not in these curves"):
        curves.plot(attribute="nope")
    plt.close("all")


def test_bad_arguments_name_the_fix():
    y, p, race = _data(200)
    with pytest.raises(ValueError, match="method must be one of"):
        calibration_by_group(y, p, sensitive_features=race, method="isotonic")
    with pytest.raises(ValueError, match="span must be a share"):
        calibration_by_group(y, p, sensitive_features=race, span=0)


def test_binned_curve_of_a_large_group_is_within_the_stated_error():
    """Past 1,024 patients the curve is fitted to binned cells: error below 2e-4."""
    y, p, race = _data(10_000, seed=3)
    frame = calibration_by_group(y, p, sensitive_features=race, n_bootstrap=0)
    rows = frame.to_frame().query("group == 'overall'")
    model = skmisc_loess.loess(p, y * 1.0, span=0.75, degree=2, surface="direct")
    model.fit()
    expected = model.predict(rows["predicted"].to_numpy()).values
    np.testing.assert_allclose(rows["observed"], expected, atol=2e-4)


@pytest.mark.parametrize("container", [list, np.asarray, pd.Series])
def test_input_containers_give_the_same_curves(container):
    y, p, race = _data(500)
    expected = calibration_by_group(y, p, sensitive_features=race, n_bootstrap=0)
    got = calibration_by_group(
        container(y), container(p), sensitive_features=container(race), n_bootstrap=0
    )
    pd.testing.assert_frame_equal(got.to_frame(), expected.to_frame())


def test_histogram_bars_reveal_no_small_count():
    rng = np.random.default_rng(0)
    for _ in range(200):
        counts = rng.choice([0, 1, 3, 9, 10, 11, 12, 25, 60], size=rng.integers(1, 8))
        shown = shown_bars(counts, 11)
        assert not ((shown >= 1) & (shown <= 10)).any()
        assert ((shown == counts) | (shown == 0)).all()
        hidden = counts.sum() - shown.sum()  # the group's n minus the bars drawn
        if counts.sum() >= 11:  # else the group's n and all its bars are masked
            assert not 1 <= hidden <= 10


def test_plot_draws_no_bars_of_a_group_whose_size_is_masked():
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y, p, race = _data(1000)
    race = race.astype(object)
    race[:6] = "D"  # six patients: one more group's n is masked with D's
    with pytest.warns(SmallGroupWarning, match="D"):
        curves = calibration_by_group(y, p, sensitive_features=race, n_bootstrap=0)
    released = curves.to_frame(suppress_below=11).drop_duplicates("group")
    masked = set(released.loc[released["n"].isna(), "group"])
    assert "D" in masked and len(masked) >= 2
    fig = curves.plot()
    panels = [ax for ax in fig.axes if ax.get_title()]
    for ax in panels:
        bars = fig.axes[fig.axes.index(ax) + 1].patches
        drawn = sum(bar.get_height() for bar in bars)
        name = ax.get_title().split("\n")[0]
        # the bars of a released group add up to at most its n; of a masked one, 0
        assert (drawn == 0) == (name in masked)
    plt.close("all")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_masked_bin_is_the_overall_bin_minus_the_other_groups(seed):
    """Bins of the groups add up to the overall bin: no small one by subtraction."""
    rng = np.random.default_rng(seed)
    n = 600
    race = np.where(rng.random(n) < 0.85, "A", "B")
    p = rng.beta(1, 4, n)
    y = rng.binomial(1, p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curves = calibration_by_group(
            y, p, sensitive_features=pd.DataFrame({"race": race}), method="bins",
            n_bootstrap=0,
        )  # fmt: skip
    released = curves.to_frame(suppress_below=11)
    shown = released["observed"].notna().to_numpy()
    k = np.minimum((p * 10).astype(int), 9)  # calibration_curve's uniform bins
    truth = pd.crosstab(race, k)
    bins_of = np.minimum((curves.to_frame()["predicted"] * 10).astype(int), 9)
    for b in truth.columns:
        rows = (bins_of == b).to_numpy()
        overall = rows & (released["attribute"] == "overall").to_numpy()
        if not shown[overall].any():
            continue
        for group, other in [("A", "B"), ("B", "A")]:
            mine = rows & (released["group"] == group).to_numpy()
            theirs = rows & (released["group"] == other).to_numpy()
            if shown[theirs].any() and not shown[mine].any():
                assert not 1 <= truth.loc[group, b] < 11, (group, b)
