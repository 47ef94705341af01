"""The benchmark grid on a Dask cluster: the same runs, the same results."""

import pickle
import sys

import cloudpickle
import distributed
import joblib
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from healthbalance.benchmark import _cluster, run_benchmark
from healthbalance.benchmark import _protocol as protocol
from healthbalance.benchmark._cli import main
from healthbalance.datasets import make_icu_cohort

SEEDS = (0, 1)
GRID = {
    "strategies": ["erm", "reweighing"],
    "models": ["logistic"],
    "seeds": SEEDS,
    "quick": True,
    "n_bootstrap": 20,
    "cache_dir": False,
}
CLI = [
    "benchmark",
    "--quick",
    "--n-samples",
    "2000",
    "--strategies",
    "erm",
    "reweighing",
    "--models",
    "logistic",
    "--n-bootstrap",
    "20",
    "--no-cache",
]


@pytest.fixture(scope="module")
def cohort():
    cohort = make_icu_cohort(2_000, random_state=1)
    return cohort.data, cohort.target, cohort.sensitive_features[["race_ethnicity"]]


@pytest.fixture(scope="module")
def local(cohort):
    return run_benchmark(*cohort, **GRID, n_jobs=1, progress=False)


@pytest.fixture(scope="module")
def on_cluster(cohort, dask_client):
    """The grid on the 2-worker cluster, with what the caller sent it recorded."""
    batches, scattered = [], []
    submit, scatter = dask_client.submit, dask_client.scatter

    def recording_submit(*args, **kwargs):
        batches.append(kwargs["tasks"])
        return submit(*args, **kwargs)

    def recording_scatter(data, **kwargs):
        scattered.append(data)
        return scatter(data, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dask_client, "submit", recording_submit)
        patch.setattr(dask_client, "scatter", recording_scatter)
        with joblib.parallel_config(backend="dask"):
            results = run_benchmark(*cohort, **GRID, n_jobs=-1, progress=False)
    tasks = [task for batch in batches for task in batch]
    return results, tasks, [_pickled_size(batch) for batch in batches], scattered


def _pickled_size(batch):
    """Return the bytes of a batch of tasks, with a scattered future as its key."""

    def plain(value):
        return value.key if isinstance(value, distributed.Future) else value

    return len(
        cloudpickle.dumps(
            [
                (f, [plain(a) for a in args], {k: plain(v) for k, v in kw.items()})
                for f, args, kw in batch
            ]
        )
    )


def test_the_grid_on_a_cluster_equals_the_local_run(local, on_cluster):
    results = on_cluster[0]
    assert_frame_equal(results.metrics, local.metrics, check_exact=True)
    assert_frame_equal(results.deltas, local.deltas, check_exact=True)
    timing = ["fit_seconds"]
    assert_frame_equal(
        results.fits.drop(columns=timing), local.fits.drop(columns=timing)
    )
    assert len(results.fits) == len(SEEDS) * 2


def test_each_seed_is_sent_once_and_the_runs_carry_a_reference(on_cluster):
    _, tasks, tasks_bytes, scattered = on_cluster
    splits = [s for s in scattered if isinstance(s, protocol.Splits)]
    # every run went to the cluster, and nothing else did
    assert len(tasks) == len(SEEDS) * 2
    assert len(splits) == len(SEEDS)
    assert [sorted(s) for s in splits] == [["test", "train", "val"]] * len(SEEDS)
    seed_bytes = min(len(pickle.dumps(dict(s))) for s in splits)
    assert seed_bytes > 200_000
    # a task holds a reference to its seed's data, not the data
    assert max(tasks_bytes) < 5_000 < seed_bytes / 40


def test_arrays_from_a_network_buffer_get_memory_of_their_own():
    buffer = np.frombuffer(bytearray(8 * 11), dtype=np.float64)[1:]
    owned = np.arange(3.0)
    splits = protocol.own_memory({"train": {"X": buffer, "y": owned, "n": 3}})
    assert splits["train"]["X"].flags.owndata and not buffer.flags.owndata
    assert splits["train"]["y"] is owned and splits["train"]["n"] == 3
    assert isinstance(splits, protocol.Splits)


def test_a_cluster_run_fills_the_cache_a_local_rerun_reads(
    cohort, local, dask_client, tmp_path, monkeypatch
):
    grid = {**GRID, "cache_dir": tmp_path, "progress": False}
    with joblib.parallel_config(backend="dask"):
        run_benchmark(*cohort, **grid, n_jobs=-1)
    assert len(list(tmp_path.glob("run_*.npz"))) == len(SEEDS) * 2

    def refit(*args):
        raise AssertionError("a cached run was fitted again")

    # a local rerun finds every run in the cache the cluster run left
    monkeypatch.setattr(protocol, "fit_run", refit)
    again = run_benchmark(*cohort, **grid, n_jobs=1)
    assert_frame_equal(again.metrics, local.metrics, check_exact=True)


def _tables(folder):
    return {
        name: pd.read_csv(folder / f"benchmark_{name}.csv")
        for name in ("metrics", "deltas", "fits")
    }


def test_the_command_on_a_local_cluster_writes_the_local_results(tmp_path, capsys):
    main([*CLI, "--no-progress", "--out", str(tmp_path / "local")])
    capsys.readouterr()
    main([*CLI, "--dask-workers", "2", "--out", str(tmp_path / "cluster")])
    err = capsys.readouterr().err
    # the progress bar still counts the runs as they come back
    assert "run 2/2: reweighing (logistic, seed 0)" in err and "100%" in err
    local, cluster = _tables(tmp_path / "local"), _tables(tmp_path / "cluster")
    assert_frame_equal(cluster["metrics"], local["metrics"], check_exact=True)
    assert_frame_equal(cluster["deltas"], local["deltas"], check_exact=True)
    timing = ["fit_seconds"]
    assert_frame_equal(
        cluster["fits"].drop(columns=timing), local["fits"].drop(columns=timing)
    )


def _usage_error(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main([*CLI, "--no-progress", *argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("healthbalance benchmark: error: ")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_a_scheduler_that_does_not_answer_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_cluster, "CONNECT_TIMEOUT", 1)
    address = "tcp://127.0.0.1:1"
    err = _usage_error(["--scheduler", address, "--out", str(tmp_path)], capsys)
    assert f"--scheduler {address}: no Dask scheduler answered" in err
    assert "tcp://HOST:8786" in err and "--dask-workers N" in err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["--scheduler", "tcp://host:8786", "--dask-workers", "2"],
            "--scheduler and --dask-workers exclude each other",
        ),
        (["--dask-workers", "0"], "--dask-workers 0: start at least 1 worker"),
        (["--scheduler", "nohost"], "--scheduler nohost: no Dask scheduler answered"),
    ],
)
def test_wrong_cluster_options_are_one_line(argv, expected, capsys, tmp_path):
    assert expected in _usage_error([*argv, "--out", str(tmp_path)], capsys)


def test_without_dask_the_error_says_what_to_install(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)
    err = _usage_error(["--dask-workers", "2", "--out", str(tmp_path)], capsys)
    assert "--dask-workers needs Dask" in err
    assert "pip install 'healthbalance[dask]'" in err


def _versions_of(package, mine, *found):
    workers = {
        f"tcp://10.0.0.{i}:40000": {"packages": {package: version}}
        for i, version in enumerate(found)
    }
    return {"client": {"packages": {package: mine}}, "workers": workers}


def _versions(mine, *found):
    return _versions_of("scikit-learn", mine, *found)


def test_workers_with_other_versions_are_counted():
    problems = _cluster.version_problems
    assert problems(_versions("1.9.1", "1.9.1", "1.9.1"), "scikit-learn") == ""
    assert problems(_versions("1.9.1"), "scikit-learn") == ""
    problem = problems(_versions("1.9.1", "1.9.1", None, "1.0"), "scikit-learn")
    assert problem == (
        "2 of 3 workers have scikit-learn 1.0, None (None: not installed) and this "
        "process 1.9.1"
    )


def test_an_existing_scheduler_is_reached_and_its_workers_checked(
    dask_client, monkeypatch
):
    address = dask_client.scheduler.address
    with _cluster.connect(scheduler=address) as client:
        assert len(client.ncores()) == 2
    # a worker with another healthbalance: refused, naming the version to install
    monkeypatch.setattr(_cluster, "__version__", "99.0")
    monkeypatch.setattr(
        dask_client.__class__,
        "get_versions",
        lambda self, **kw: _versions_of("healthbalance", "99.0", "0.1"),
    )
    with pytest.raises(ValueError, match="install healthbalance 99.0") as error:
        _cluster.connect(scheduler=address)
    assert f"--scheduler {address}: 1 of 1 workers have healthbalance 0.1" in str(
        error.value
    )
