import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from healthbalance.metrics import representation_report
from tests.metrics._data import make_scores


def test_shares_ratios_and_needs_against_pandas():
    y, _, sf = make_scores(500, seed=0)
    census = {"White": 0.6, "Black": 0.13, "Asian": 0.06, "Hispanic": 0.19}
    frame = representation_report(sf.race, census, y_true=y, target_ci_width=0.1)
    counts = sf.race.value_counts()
    events = pd.Series(y).groupby(sf.race.to_numpy()).sum()
    needed = np.ceil(norm.ppf(0.975) ** 2 * 0.25 / 0.05**2)
    for _, row in frame.iterrows():
        n = counts.get(row.group, 0)
        assert row.n == n
        assert row.share == pytest.approx(n / 500)
        assert row.reference_share == census[row.group]
        assert row.ratio == pytest.approx(n / 500 / census[row.group])
        assert row.events_needed == needed
        if n:
            prevalence = events[row.group] / n
            assert row.patients_needed == np.ceil(needed / prevalence)
            assert row.additional_patients == max(0, row.patients_needed - n)
    assert frame.set_index("group").loc["Hispanic", "n"] == 0


def test_several_attributes_and_no_reference():
    _, _, sf = make_scores(100, seed=1)
    frame = representation_report(sf, {"sex": {"F": 0.5, "M": 0.5}})
    assert set(frame.attribute) == {"race", "sex"}
    assert frame[frame.attribute == "race"].reference_share.isna().all()
    assert frame.n_events.isna().all()
    bare = representation_report(sf.sex)
    assert bare.share.sum() == pytest.approx(1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="attribute: {group: share}"):
        representation_report(pd.DataFrame({"a": ["x"], "b": ["y"]}), {"x": 1.0})
    with pytest.raises(ValueError, match="not in sensitive_features"):
        representation_report(["x", "y"], {"race": {"x": 1.0}, "sex": {"F": 1}})
    with pytest.raises(ValueError, match="target_ci_width"):
        representation_report(["x"], target_ci_width=2)
    with pytest.raises(ValueError, match="needs sensitive_features"):
        representation_report(None)


@pytest.mark.parametrize(
    ("reference", "error", "message"),
    [
        ({"x": -0.1, "y": 1.1}, ValueError, "group 'x' the share -0.1"),
        ({"x": float("nan"), "y": 0.5}, ValueError, "finite number >= 0"),
        ({"x": 60.0, "y": 40.0}, ValueError, "sum to 100.*divide them by 100"),
        ({"x": 0.6, "y": 0.5}, ValueError, "sum to 1.1, more than 1"),
        ({"x": 600, "y": 400}, ValueError, "sum to 1000, more than 1"),
        ({"x": "a lot", "y": 0.5}, TypeError, "must be numbers"),
    ],
)
def test_bad_reference_shares_are_refused(reference, error, message):
    with pytest.raises(error, match=message):
        representation_report(["x", "y", "y"], reference)


def test_rounded_shares_above_one_are_normalised_with_a_warning():
    groups = ["x"] * 3 + ["y"] * 7
    with pytest.warns(UserWarning, match="'race' sum to 1.02, a little") as record:
        frame = representation_report(
            pd.DataFrame({"race": groups}), {"x": 0.255, "y": 0.765}
        )
    assert record[0].filename == __file__  # the warning points at the caller
    shares = frame.set_index("group")["reference_share"]
    assert shares["x"] == pytest.approx(0.25)
    assert shares["y"] == pytest.approx(0.75)
    assert frame.set_index("group")["ratio"]["x"] == pytest.approx(0.3 / 0.25)


def test_partial_reference_is_kept_as_given():
    frame = representation_report(["x", "y", "y", "z"], {"x": 0.2, "y": 0.5})
    shares = frame.set_index("group")["reference_share"]
    assert shares["x"] == 0.2
    assert shares["y"] == 0.5
    assert np.isnan(shares["z"])
