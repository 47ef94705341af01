import json
import os
import re
import warnings

import numpy as np
import pytest

import healthbalance
from healthbalance.benchmark import STRATEGIES
from healthbalance.benchmark import _models as models
from healthbalance.benchmark import _run_cache as run_cache
from healthbalance.utils._cache import CacheWarning, user_cache_dir

RUN = {
    "params": {"C": 1.0},
    "fit_seconds": 0.5,
    "val_worst_auroc": 0.8,
    "threshold": 0.2,
    "score": np.linspace(0, 1, 7),
    "decision": np.array([0, 1, 1, 0, 0, 1, 0], dtype=np.int8),
}


def _config(**changes):
    args = {"fingerprint": "abc", "seed": 0, "model": "logistic", "quick": True}
    args.update(changes)
    strategy = STRATEGIES[args.pop("strategy", "erm")]
    return run_cache.run_config(strategy=strategy, **args)


def test_run_round_trips(tmp_path):
    config = _config()
    path = run_cache.run_path(tmp_path, config)
    run_cache.save_run(path, RUN, config)
    loaded = run_cache.load_run(path, config, 7)
    np.testing.assert_array_equal(loaded["score"], RUN["score"])
    np.testing.assert_array_equal(loaded["decision"], RUN["decision"])
    assert loaded["params"] == {"C": 1.0} and loaded["threshold"] == 0.2
    # Atomic write: only the final file is left, readable by its owner only.
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_the_key_holds_the_library_version_and_the_full_grid(monkeypatch):
    config = _config()
    assert config["library"] == healthbalance.__version__
    assert config["base_grid"] == [{"C": 1.0}]
    assert config["base_model"]["max_iter"] == 1_000
    keys = {json.dumps(config, sort_keys=True)}
    for changes in [
        {"seed": 1},
        {"quick": False},
        {"model": "hgb"},
        {"fingerprint": "x"},
    ]:
        keys.add(json.dumps(_config(**changes), sort_keys=True))
    keys.add(json.dumps(_config(strategy="reweighing"), sort_keys=True))
    monkeypatch.setattr(run_cache, "__version__", "0.0.1")
    keys.add(json.dumps(_config(), sort_keys=True))
    monkeypatch.undo()

    def other_grid(name, quick):
        estimator, grid = original(name, quick)
        return estimator, [{"C": 0.5}]

    original = models.base_model_grid
    monkeypatch.setattr(run_cache, "base_model_grid", other_grid)
    keys.add(json.dumps(_config(), sort_keys=True))
    assert len(keys) == 8


def test_the_key_is_stable_across_processes():
    # No memory address (``<... at 0x...>``) may enter the key, or a rerun never hits.
    text = json.dumps(_config(model="hgb", strategy="group_over"), sort_keys=True)
    assert " at 0x" not in text
    assert run_cache.run_path("c", _config()) == run_cache.run_path("c", _config())


def _damage(path, how):
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"not a zip file at all")
    elif how == "foreign":
        with path.open("wb") as f:
            np.savez(f, something=np.arange(3))
    elif how == "other_config":
        run_cache.save_run(path, RUN, {**_config(), "library": "0.0.1"})
    elif how == "wrong_length":
        short = {**RUN, "score": RUN["score"][:3], "decision": RUN["decision"][:3]}
        run_cache.save_run(path, short, _config())
    elif how == "bad_scores":
        run_cache.save_run(path, {**RUN, "score": RUN["score"] * 5}, _config())


@pytest.mark.parametrize(
    "how",
    ["truncated", "garbage", "foreign", "other_config", "wrong_length", "bad_scores"],
)
def test_unusable_files_are_named_and_ignored(tmp_path, how):
    config = _config()
    path = run_cache.run_path(tmp_path, config)
    run_cache.save_run(path, RUN, config)
    _damage(path, how)
    with pytest.warns(CacheWarning, match=f"cache file {path}.*ignored") as record:
        assert run_cache.load_run(path, config, 7) is None
    assert record[0].filename == __file__


@pytest.mark.parametrize(("n_test", "shown"), [(7, "fewer than 11"), (12, "12")])
def test_the_test_set_size_in_the_warning_follows_the_small_count_rule(
    tmp_path, n_test, shown
):
    config = _config()
    path = run_cache.run_path(tmp_path, config)
    run_cache.save_run(path, {**RUN, "score": RUN["score"][:3]}, config)
    with pytest.warns(CacheWarning) as record:
        assert run_cache.load_run(path, config, n_test) is None
    message = str(record[0].message)
    assert f"per test patient ({shown})" in message
    assert not re.search(r"\b7\b", message.replace(str(path), ""))


def test_a_missing_file_is_no_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run_cache.load_run(tmp_path / "none.npz", _config(), 7) is None


def test_cache_dir_semantics(tmp_path):
    assert run_cache.resolve_cache_dir(False) is None
    assert run_cache.resolve_cache_dir(tmp_path) == tmp_path
    default = run_cache.resolve_cache_dir(None)
    assert default == user_cache_dir() / "benchmark"
    # The test session points XDG_CACHE_HOME away from the real home (conftest.py).
    assert default.parent.parent == type(default)(os.environ["XDG_CACHE_HOME"])
    with pytest.raises(TypeError, match="cache_dir=True is not a folder"):
        run_cache.resolve_cache_dir(True)


def test_user_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert user_cache_dir() == tmp_path / "healthbalance"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # ignored, as the spec says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_cache_dir() == tmp_path / "home" / ".cache" / "healthbalance"
