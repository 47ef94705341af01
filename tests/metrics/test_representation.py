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
