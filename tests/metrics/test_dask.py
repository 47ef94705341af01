"""Evaluation of Dask collections: stage 1 reduced to weighted cells on the workers."""

import pickle
import subprocess
import sys
import threading
import warnings

import dask.dataframe as dd
import numpy as np
import pandas as pd
import psutil
import pytest
from sklearn import metrics as skm

from healthbalance.metrics import (
    SmallGroupWarning,
    calibration_by_group,
    compare_models,
    decision_curve,
    group_report,
)
from healthbalance.metrics import _dask as dask_stage
from healthbalance.metrics._binning import BOUNDED
from healthbalance.metrics._count_batch import ROW_STATISTICS, MetricParams
from healthbalance.metrics._engine import evaluate
from healthbalance.metrics._groups import build_groups
from healthbalance.metrics._registry import METRICS
from tests.metrics._data import EXACT, make_scores

THRESHOLD = 0.3


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        return function(*args, **kwargs)


def _frames(n=40_000, seed=0):
    y, p, sf = make_scores(n, seed=seed)
    frame = pd.DataFrame({"death": y, "p": p, "race": sf.race, "sex": sf.sex})
    return frame, dd.from_pandas(frame, npartitions=4)


# -- the weighted engine (no cluster) ------------------------------------------


def test_weighted_cells_equal_the_rows_repeated():
    """Integer weights: every metric equals the engine on the rows repeated, and
    scikit-learn's sample-weighted metrics."""
    rng = np.random.default_rng(3)
    y, p, sf = make_scores(600, seed=3)
    weights = rng.integers(1, 6, y.size)
    metrics = {name: name for name in METRICS}
    params = MetricParams(threshold=THRESHOLD)
    means = {stat: f(p, y) for stat, f in ROW_STATISTICS.items()}
    cells = evaluate(
        y, [p], build_groups(sf), metrics, params, n_bootstrap=0, random_state=0,
        n_jobs=None, cells=(weights, [means]),
    )  # fmt: skip
    repeat = np.repeat(np.arange(y.size), weights)
    rows = evaluate(
        y[repeat], [p[repeat]], build_groups(sf.iloc[repeat]), metrics, params,
        n_bootstrap=0, random_state=0, n_jobs=None,
    )  # fmt: skip
    # the smooth calibration errors of more than 1,024 rows (here the repeated
    # ones, not the 600 cells) are read from a binned loess: within its error
    smooth = np.isin(names := list(metrics), ["ici", "e50", "e90", "emax"])
    np.testing.assert_allclose(
        cells.point[..., ~smooth], rows.point[..., ~smooth], rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        cells.point[..., smooth], rows.point[..., smooth], atol=5e-3
    )
    np.testing.assert_array_equal(cells.sizes, rows.sizes)
    np.testing.assert_array_equal(cells.confusion, rows.confusion)
    overall = cells.point[0, 0]
    for name, reference in [
        ("roc_auc", skm.roc_auc_score),
        ("average_precision", skm.average_precision_score),
        ("brier_score", skm.brier_score_loss),
        ("log_loss", skm.log_loss),
    ]:
        expected = reference(y, p, sample_weight=weights)
        assert overall[names.index(name)] == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("stratify", ["intersection", "none"])
def test_weighted_bootstrap_has_the_spread_of_the_repeated_rows(stratify):
    """The multinomial redraw over cells is the row bootstrap: same spread."""
    rng = np.random.default_rng(4)
    y, p, sf = make_scores(400, seed=4)
    weights = rng.integers(1, 8, y.size)
    metrics = {"roc_auc": "roc_auc", "sensitivity": "sensitivity"}
    params = MetricParams(threshold=THRESHOLD)
    means = {stat: f(p, y) for stat, f in ROW_STATISTICS.items()}
    options = {"n_bootstrap": 2000, "random_state": 0, "n_jobs": None}
    options["stratify"] = stratify
    cells = evaluate(
        y, [p], build_groups(sf), metrics, params, cells=(weights, [means]),
        **options,
    )  # fmt: skip
    repeat = np.repeat(np.arange(y.size), weights)
    rows = evaluate(
        y[repeat], [p[repeat]], build_groups(sf.iloc[repeat]), metrics, params,
        **options,
    )  # fmt: skip
    spread = cells.replicates.std(axis=0), rows.replicates.std(axis=0)
    # the standard deviation of 2,000 replicates is known to about 1.6%
    np.testing.assert_allclose(*spread, rtol=0.1)


# -- Dask input on the 2-worker cluster -----------------------------------------


def test_dask_report_equals_the_in_memory_report(dask_client):
    frame, ddf = _frames(10_000)
    options = {"threshold": THRESHOLD, "n_bootstrap": 400, "random_state": 0}
    sensitive = ["race", "sex"]
    memory = _quiet(
        group_report, frame.death, frame.p, sensitive_features=frame[sensitive],
        **options,
    )  # fmt: skip
    report = _quiet(
        group_report, ddf.death, ddf.p, sensitive_features=ddf[sensitive],
        n_score_bins=1024, **options,
    )  # fmt: skip
    a, b = memory.to_frame(), report.to_frame()
    assert b[["attribute", "group", "metric"]].equals(
        a[["attribute", "group", "metric"]]
    )
    assert set(b.attribute) == {"overall", "race", "sex", "race & sex"}
    exact = b.metric.isin(EXACT)
    np.testing.assert_allclose(b.estimate[exact], a.estimate[exact], atol=1e-12)
    for column in ("n", "n_events", "smallest_confusion_count"):
        assert b[column].equals(a[column])
    # the rank metrics within the reported bound of the binning
    bound = report.binning_bound.set_index(["attribute", "group"])
    for name in BOUNDED:
        rows = b.metric == name
        error = (b.estimate[rows] - a.estimate[rows]).abs().to_numpy()
        allowed = bound.loc[
            list(zip(b.attribute[rows], b.group[rows], strict=True)), name
        ]
        assert np.all(error <= allowed.to_numpy() + 1e-12), name
        assert 0 < error.max() < 5e-3  # 1,024 bins of 10,000 rows do bin
    assert bound.roc_auc.max() < 1e-3
    # the calibration fits on mean logits of bins, the other operating points
    for name in ("calibration_slope", "calibration_intercept"):
        rows = b.metric == name
        np.testing.assert_allclose(b.estimate[rows], a.estimate[rows], atol=2e-3)
    # intervals agree to Monte Carlo accuracy (400 replicates of each)
    width = (a.ci_high - a.ci_low).to_numpy()
    for column in ("ci_low", "ci_high"):
        gap = (b[column] - a[column]).abs().to_numpy()
        defined = ~np.isnan(width) & (width > 0)
        assert np.all(gap[defined] <= 0.25 * width[defined] + 1e-4)
    pd.testing.assert_frame_equal(
        report._calibration, memory._calibration, check_exact=False, rtol=1e-9
    )


def test_dask_compare_models_equals_in_memory(dask_client):
    frame, _ = _frames(30_000, seed=1)
    noise = np.random.default_rng(1).normal(0, 0.15, frame.shape[0])
    frame["q"] = np.clip(frame.p + noise, 0, 1)
    ddf = dd.from_pandas(frame, npartitions=3)
    options = {
        "reference": "p",
        "metrics": ["roc_auc", "brier_score", "sensitivity", "average_precision"],
        "threshold": THRESHOLD,
        "n_bootstrap": 400,
        "random_state": 0,
    }
    a = _quiet(
        compare_models, frame.death, {"p": frame.p, "q": frame.q},
        sensitive_features=frame.race, **options,
    )  # fmt: skip
    b = _quiet(
        compare_models, ddf.death, {"p": ddf.p, "q": ddf.q},
        sensitive_features=ddf.race, n_score_bins=512, **options,
    )  # fmt: skip
    assert b.group.tolist() == a.group.tolist()
    exact = b.metric.isin(["brier_score", "sensitivity"])
    np.testing.assert_allclose(b.difference[exact], a.difference[exact], atol=1e-12)
    bound = pd.DataFrame(b.attrs["binning_bound"])
    assert pd.concat([a, b]).shape[0] == 2 * a.shape[0]  # attrs stay comparable
    assert set(bound.model) == {"p", "q"}
    rank = ~exact
    both = bound.groupby(["attribute", "group"])[["roc_auc", "average_precision"]]
    allowed = both.sum()  # the difference's error is at most the sum of the two
    keys = list(zip(b.attribute[rank], b.group[rank], strict=True))
    limit = [allowed.loc[k, m] for k, m in zip(keys, b.metric[rank], strict=True)]
    error = (b.difference[rank] - a.difference[rank]).abs().to_numpy()
    assert np.all(error <= np.array(limit) + 1e-12)
    # paired: the joint cells give the narrow intervals of the in-memory pairing
    width = (a.ci_high - a.ci_low).to_numpy()
    for column in ("ci_low", "ci_high"):
        gap = (b[column] - a[column]).abs().to_numpy()
        assert np.all(gap <= 0.25 * width + 1e-4)


def _generate(seed, n):
    """One partition, made on a worker."""
    y, p, sf = make_scores(n, seed=seed)
    return pd.DataFrame({"y": y.astype(np.int8), "p": p, "race": sf.race})


class _PeakMemory:
    """The caller's peak resident memory above its level at the start."""

    def __enter__(self):
        self._process = psutil.Process()
        self._start = self._peak = self._process.memory_info().rss
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample)
        self._thread.start()
        return self

    def _sample(self):
        while not self._done.wait(0.005):
            self._peak = max(self._peak, self._process.memory_info().rss)

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        self.growth = self._peak - self._start


def test_rows_built_on_the_workers_never_reach_the_caller(dask_client, monkeypatch):
    n_parts, n = 8, 250_000
    # meta given: Dask would otherwise call _generate in the caller to infer it
    meta = _generate(0, 0)
    ddf = dd.from_map(_generate, range(n_parts), n=n, meta=meta)
    gathered = []
    compute = dask_stage._compute

    def spy(task):
        result = compute(task)
        gathered.append(len(pickle.dumps(result)))
        return result

    monkeypatch.setattr(dask_stage, "_compute", spy)
    with _PeakMemory() as peak:
        report = _quiet(
            group_report, ddf.y, ddf.p, sensitive_features=ddf.race,
            metrics=["roc_auc", "sensitivity", "brier_score"], threshold=THRESHOLD,
            n_bootstrap=20, random_state=0, n_score_bins=1024,
        )  # fmt: skip
    data_size = n_parts * n * (8 + 8 + 8)  # y, p and a pointer per row, at least
    # the checks with the histograms (fixed size), then the cells (bins x groups)
    assert len(gathered) == 2
    assert max(gathered) < data_size / 20
    assert peak.growth < data_size / 2
    frame = report.to_frame()
    assert frame.n[frame.group == "overall"].iloc[0] == n_parts * n


def test_names_and_missing_groups_are_kept(dask_client):
    frame, _ = _frames(2_000)
    frame["race"] = frame.race.where(frame.index % 50 != 0)
    ddf = dd.from_pandas(frame, npartitions=3)
    report = _quiet(
        group_report, ddf.death, ddf.p, sensitive_features=ddf.race,
        metrics="roc_auc", n_bootstrap=0,
    )  # fmt: skip
    memory = _quiet(
        group_report, frame.death, frame.p, sensitive_features=frame.race,
        metrics="roc_auc", n_bootstrap=0,
    )  # fmt: skip
    a, b = memory.to_frame(), report.to_frame()
    assert b.attribute.tolist()[1:] == ["race"] * 4
    assert b.group.tolist() == a.group.tolist()
    assert "(missing)" in b.group.tolist()
    unnamed = ddf.race.rename(None)
    report = _quiet(
        group_report, ddf.death, ddf.p, sensitive_features=unnamed,
        metrics="roc_auc", n_bootstrap=0,
    )  # fmt: skip
    memory = _quiet(
        group_report, frame.death, frame.p, sensitive_features=frame.race.rename(None),
        metrics="roc_auc", n_bootstrap=0,
    )  # fmt: skip
    assert report.to_frame().attribute.equals(memory.to_frame().attribute)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda f: f.assign(p=f.p.where(f.index != 5)),
            r"y_score contains NaN or infinite values \(fewer than 11 rows\).*"
            "drop or impute",
        ),
        (lambda f: f.assign(p=f.p + 1), r"need probabilities in \[0, 1\]"),
        (lambda f: f.assign(death=f.death.where(f.index != 5)), "missing values"),
        (lambda f: f.assign(death=f.index % 3), "must be binary"),
        (lambda f: f.assign(death=np.where(f.death, "yes", "no")), "pos_label"),
    ],
)
def test_bad_values_are_clear_errors(dask_client, change, message):
    frame, _ = _frames(1_000)
    ddf = dd.from_pandas(change(frame), npartitions=2)
    with pytest.raises(ValueError, match=message):
        group_report(ddf.death, ddf.p, sensitive_features=ddf.race, n_bootstrap=0)


def test_bad_partitions_and_callables_are_clear_errors(dask_client):
    frame, ddf = _frames(1_000)
    other = dd.from_pandas(frame, npartitions=3)
    with pytest.raises(ValueError, match="different numbers of partitions"):
        group_report(ddf.death, other.p, sensitive_features=ddf.race, n_bootstrap=0)
    shifted = dd.from_pandas(frame.iloc[10:], npartitions=4)
    with pytest.raises(ValueError, match="not partitioned alike"):
        group_report(ddf.death, shifted.p, sensitive_features=ddf.race, n_bootstrap=0)
    with pytest.raises(ValueError, match=r"y_true must be 1-D"):
        group_report(ddf[["death"]], ddf.p, sensitive_features=ddf.race)
    with pytest.raises(TypeError, match="must be Dask collections"):
        group_report(ddf.death, frame.p, sensitive_features=ddf.race, n_bootstrap=0)
    with pytest.raises(ValueError, match="compute them on a sample"):
        group_report(
            ddf.death, ddf.p, sensitive_features=ddf.race, n_bootstrap=0,
            metrics=[skm.roc_auc_score],
        )  # fmt: skip
    with pytest.raises(ValueError, match="n_score_bins"):
        group_report(ddf.death, ddf.p, sensitive_features=ddf.race, n_score_bins=1)


def test_scores_that_are_not_probabilities(dask_client):
    """Ranking metrics of any real score: bins on the scores' own scale."""
    frame, ddf = _frames(5_000)
    options = {"metrics": ["roc_auc", "n"], "n_bootstrap": 0}
    memory = _quiet(
        group_report, frame.death, 10 * frame.p - 3, sensitive_features=frame.race,
        **options,
    )  # fmt: skip
    report = _quiet(
        group_report, ddf.death, 10 * ddf.p - 3, sensitive_features=ddf.race,
        **options,
    )  # fmt: skip
    a, b = memory.to_frame(), report.to_frame()
    np.testing.assert_allclose(b.estimate, a.estimate, atol=1e-3)
    # one model of probabilities, one of other scores: each binned on its scale
    scores = {"p": frame.p, "z": 10 * frame.p - 3}
    dask_scores = {"p": ddf.p, "z": 10 * ddf.p - 3}
    options = {"reference": "p", "metrics": "roc_auc", "n_bootstrap": 0}
    a = _quiet(
        compare_models, frame.death, scores, sensitive_features=frame.race, **options
    )
    b = _quiet(
        compare_models, ddf.death, dask_scores, sensitive_features=ddf.race, **options
    )
    np.testing.assert_allclose(b.estimate, a.estimate, atol=1e-3)
    np.testing.assert_allclose(b.reference_estimate, a.reference_estimate, atol=1e-3)


def test_arrays_do_not_import_dask():
    code = (
        "import sys; import numpy as np; "
        "from healthbalance.metrics import group_report; "
        "group_report(np.tile([0, 1], 50), "
        "np.linspace(0, 1, 100), sensitive_features=np.r_[['a'] * 50, ['b'] * 50], "
        "metrics='roc_auc', n_bootstrap=0); "
        "assert 'dask' not in sys.modules, 'dask imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("function", [calibration_by_group, decision_curve])
def test_curves_refuse_dask_input_clearly(dask_client, function):
    frame = dd.from_pandas(pd.DataFrame({"y": [0, 1] * 20, "p": [0.2, 0.7] * 20}), 2)
    with pytest.raises(ValueError, match="rows of y_true and y_score in memory"):
        function(frame["y"], frame["p"], sensitive_features=frame[["y"]])
