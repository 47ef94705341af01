"""calibration_by_group: curves per group against scikit-learn and R's loess."""

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
    # bins of fewer than 11 patients: their mean prediction is theirs
    counts = np.bincount(np.searchsorted(np.linspace(0, 1, 11)[1:-1], p), minlength=10)
    overall = released[released.group == "overall"]
    assert overall["observed"].notna().sum() == (counts >= 11).sum()


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
