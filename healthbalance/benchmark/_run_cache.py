"""The benchmark's run cache: finished runs on disk, keyed, stamped and verified.

A *run* is one (seed, base model, strategy) fit. Its file holds the test-set scores
and decisions of every test patient, so it is patient-level data: it lives in the
user's cache directory (``~/.cache/healthbalance/benchmark`` by default, see
:func:`~healthbalance.utils._cache.user_cache_dir`), never under the report folder.

The file name is a hash of the run's full configuration (:func:`run_config`: library
version, data fingerprint, seed, base model with all its parameters and grid,
strategy and its grid, the preprocessing and the protocol's constants), and the
configuration is stored in the file too. A file that cannot be read, that was written
for another configuration, or whose arrays do not fit the test set is ignored with a
:class:`~healthbalance.utils._cache.CacheWarning` naming it, and the run is refitted.
"""

import hashlib
import inspect
import json
import zipfile
from os import PathLike
from pathlib import Path

import numpy as np

from healthbalance import __version__
from healthbalance._small_counts import count_text
from healthbalance.benchmark import _protocol as protocol
from healthbalance.benchmark._models import base_model_grid, make_preprocessor
from healthbalance.utils._cache import atomic_write, user_cache_dir, warn_unusable

ARRAYS = ("score", "decision")


def default_cache_dir():
    """Return the folder of the run cache when none is given.

    Examples
    --------
    >>> from healthbalance.benchmark._run_cache import default_cache_dir
    >>> default_cache_dir().parts[-2:]
    ('healthbalance', 'benchmark')
    """
    return user_cache_dir() / "benchmark"


def resolve_cache_dir(cache_dir):
    """Return the run cache folder: ``None`` the default, ``False`` no cache."""
    if not (
        cache_dir is None or cache_dir is False or isinstance(cache_dir, str | PathLike)
    ):
        raise TypeError(
            f"cache_dir={cache_dir!r} is not a folder: pass a path, None (the user's "
            "cache directory) or False (no cache)."
        )
    if cache_dir is False:
        return None
    if cache_dir is None:
        return default_cache_dir()
    return Path(cache_dir).expanduser()


def run_config(fingerprint, seed, model, strategy, quick):
    """Return everything that decides a run's output, as plain JSON values."""
    base, base_grid = base_model_grid(model, quick)
    config = {
        "library": __version__,
        "data": fingerprint,
        "seed": seed,
        "model": model,
        "base_model": _plain(base),
        "base_grid": base_grid,
        "strategy": strategy.name,
        "strategy_grid": strategy.grid[: 1 if quick else None],
        "strategy_build": _plain(strategy.build),
        "fit_groups": strategy.fit_groups,
        "own_decisions": strategy.own_decisions,
        "quick": quick,
        "preprocessor": _plain(make_preprocessor()),
        "target_sensitivity": protocol.TARGET_SENSITIVITY,
        "selection": repr(protocol.SELECTION_SCORER),
        "selection_min_group_size": protocol.MIN_GROUP_SIZE,
        "selection_min_events": protocol.MIN_EVENTS,
    }
    return json.loads(json.dumps(config, sort_keys=True, default=_plain))


def _plain(value):
    """Describe an object by its type and attributes, never by its memory address."""
    if isinstance(value, type):
        return _name(value)
    if hasattr(value, "get_params"):
        return {"class": _name(type(value)), **value.get_params(deep=False)}
    if inspect.isfunction(value) or inspect.ismethod(value):
        closure = getattr(value, "__closure__", None) or ()
        return {"function": _name(value), "closure": [c.cell_contents for c in closure]}
    if hasattr(value, "__dict__"):
        return {"class": _name(type(value)), **vars(value)}
    return repr(value)


def _name(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


def run_path(cache_dir, config):
    """Return the cache file of the run with this configuration."""
    key = json.dumps(config, sort_keys=True).encode()
    return Path(cache_dir) / f"run_{hashlib.sha256(key).hexdigest()[:24]}.npz"


def save_run(path, run, config):
    """Store a finished run (test scores and decisions, its metadata and config)."""
    meta = {k: v for k, v in run.items() if k not in ARRAYS}
    stored = {"meta": json.dumps({**meta, "config": config}, default=_plain)}
    stored.update({name: run[name] for name in ARRAYS})
    atomic_write(path, lambda f: np.savez(f, **stored))


def load_run(path, config, n_test):
    """Return the run stored at ``path``, or ``None`` when it is missing or unusable.

    An unusable file (damaged, written for another configuration, arrays not of
    ``n_test`` test patients) is reported with a warning naming it,
    attributed to the user's call.
    """
    if not path.is_file():
        return None
    try:
        with path.open("rb") as f, np.load(f, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            arrays = {name: stored[name] for name in ARRAYS}
        problem = _problem(meta, arrays, config, n_test)
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as error:
        problem = f"is damaged ({type(error).__name__}: {error})"
    if problem is None:
        meta.pop("config")
        return {**meta, **arrays}
    warn_unusable(path, problem)
    return None


def _problem(meta, arrays, config, n_test):
    if meta.get("config") != config:
        return "was written for another run configuration or library version"
    score, decision = arrays["score"], arrays["decision"]
    if score.shape != (n_test,) or decision.shape != (n_test,):
        return (
            "does not hold one score and one decision per test patient "
            f"({count_text(n_test)})"
        )
    if not (np.all((score >= 0) & (score <= 1)) and np.isin(decision, (0, 1)).all()):
        return "holds scores outside [0, 1] or decisions other than 0/1"
    return None
