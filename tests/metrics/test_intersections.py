"""Which intersections a report covers: two-way by default, all on request."""

import itertools

import numpy as np
import pandas as pd
import pytest

from healthbalance.metrics import compare_models, group_report

# many small intersections are the point of these tests, not a surprise
pytestmark = pytest.mark.filterwarnings(
    "ignore::healthbalance.metrics.SmallGroupWarning"
)

ATTRIBUTES = {
    "race": ["A", "B", "C", "D", "E"],
    "sex": ["F", "M"],
    "age": ["18-44", "45-64", "65+"],
    "insurance": ["public", "private", "none"],
}


def _four_attributes(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({a: rng.choice(v, n) for a, v in ATTRIBUTES.items()})
    y = rng.integers(0, 2, n)
    p = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, n), 0, 1)
    return y, p, frame


def _keys(report):
    return report.to_frame().drop_duplicates(["attribute", "group"])


def test_four_attributes_give_pairwise_intersections_by_default():
    y, p, frame = _four_attributes()
    keys = _keys(
        group_report(y, p, sensitive_features=frame, metrics="roc_auc", n_bootstrap=0)
    )
    pairs = {" & ".join(pair) for pair in itertools.combinations(ATTRIBUTES, 2)}
    assert set(keys["attribute"]) == {"overall", *ATTRIBUTES, *pairs}
    sizes = [len(v) for v in ATTRIBUTES.values()]
    pairwise = sum(a * b for a, b in itertools.combinations(sizes, 2))
    assert len(keys) == 1 + sum(sizes) + pairwise
    # brute force: every pairwise group holds exactly the rows with both values
    for (a, b), row in zip(
        [k.split(" & ") for k in keys["attribute"] if " & " in k],
        keys[keys["attribute"].str.contains(" & ")].itertuples(),
        strict=True,
    ):
        va, vb = row.group.split(" & ")
        assert row.n == int(((frame[a] == va) & (frame[b] == vb)).sum())


def test_all_intersections_on_request():
    y, p, frame = _four_attributes()
    keys = _keys(
        group_report(
            y,
            p,
            sensitive_features=frame,
            metrics="roc_auc",
            n_bootstrap=0,
            intersections="all",
        )
    )
    name = " & ".join(ATTRIBUTES)
    assert set(keys["attribute"]) == {"overall", *ATTRIBUTES, name}
    observed = frame.drop_duplicates().shape[0]
    assert (keys["attribute"] == name).sum() == observed


@pytest.mark.parametrize("option", ["pairwise", "all", True])
def test_two_attributes_have_one_intersection_whatever_the_option(option):
    y, p, frame = _four_attributes()
    frame = frame[["race", "sex"]]
    keys = _keys(
        group_report(
            y,
            p,
            sensitive_features=frame,
            metrics="roc_auc",
            n_bootstrap=0,
            intersections=option,
        )
    )
    assert set(keys["attribute"]) == {"overall", "race", "sex", "race & sex"}
    assert (keys["attribute"] == "race & sex").sum() == 10


def test_pairwise_report_suppresses_and_compares():
    y, p, frame = _four_attributes(n=600)
    report = group_report(
        y,
        p,
        sensitive_features=frame,
        metrics="roc_auc",
        n_bootstrap=20,
        random_state=0,
    )
    masked = report.to_frame(suppress_below=11)
    small = report.to_frame()["n"] < 11
    assert masked.loc[small, "n"].isna().all()
    deltas = compare_models(
        y,
        {"a": p, "b": p[::-1]},
        reference="a",
        sensitive_features=frame,
        metrics="roc_auc",
        n_bootstrap=20,
        random_state=0,
    )
    assert not deltas["attribute"].str.count(" & ").gt(1).any()


@pytest.mark.parametrize("bad", ["three-way", 2, None])
def test_bad_intersections_value_is_refused(bad):
    y, p, frame = _four_attributes(n=100)
    with pytest.raises(ValueError, match=r"intersections must be .*got"):
        group_report(y, p, sensitive_features=frame, intersections=bad)
