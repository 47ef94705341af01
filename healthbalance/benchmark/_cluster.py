"""The Dask cluster of ``healthbalance benchmark --scheduler`` or ``--dask-workers``.

The command line's way of writing what a Python user writes as::

    with joblib.parallel_config(backend="dask"):
        run_benchmark(..., n_jobs=-1)

The runs are the same joblib tasks as on one machine; only the backend changes (see
:func:`~healthbalance.benchmark.run_benchmark`). Every message names the option at
fault and the fix, for the command line's one-line errors (exit status 2).
"""

import contextlib
import warnings

from joblib import parallel_config

from healthbalance import __version__

INSTALL = "pip install 'healthbalance[dask]'"
# Compared between the caller and the workers: healthbalance must match, the others
# should, for results identical to a local run.
PACKAGES = ("healthbalance", "numpy", "scikit-learn", "imbalanced-learn", "fairlearn")
# Seconds to wait for an existing scheduler to answer (dask's default is 30 s).
CONNECT_TIMEOUT = 10


def connect(scheduler=None, n_workers=None):
    """Return a client of the cluster the options ask for, or ``None`` for none.

    Parameters
    ----------
    scheduler : str, default=None
        Address of the scheduler of an existing cluster, ``tcp://host:8786``.
    n_workers : int, default=None
        Start a local cluster of this many worker processes, one thread each.

    Returns
    -------
    client : distributed.Client or None
        Closing it also closes a local cluster it started.

    Raises
    ------
    ValueError
        Both options, fewer than one worker, dask not installed, a scheduler that
        does not answer, or workers without this version of healthbalance.

    Warns
    -----
    UserWarning
        Workers with other versions of numpy, scikit-learn, imbalanced-learn or
        fairlearn than the caller's.
    """
    if scheduler is not None and n_workers is not None:
        raise ValueError(
            "--scheduler and --dask-workers exclude each other: --scheduler ADDRESS "
            "uses an existing cluster, --dask-workers N starts a local one; pass one."
        )
    if scheduler is None and n_workers is None:
        return None
    if n_workers is not None and n_workers < 1:
        raise ValueError(f"--dask-workers {n_workers}: start at least 1 worker.")
    distributed = _import_distributed(scheduler, n_workers)
    if n_workers is not None:
        return distributed.Client(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            # any free port: the scheduler serves HTTP even without a dashboard,
            # and 8787 may belong to another cluster
            dashboard_address=":0",
        )
    client = _client(distributed, scheduler)
    _check_versions(client, scheduler)
    return client


def _import_distributed(scheduler, n_workers):
    option = "--scheduler" if scheduler is not None else "--dask-workers"
    try:
        import distributed
    except ImportError as error:
        raise ValueError(
            f"{option} needs Dask, which is not installed: {INSTALL}."
        ) from error
    return distributed


def _client(distributed, scheduler):
    try:
        return distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as error:
        raise ValueError(
            f"--scheduler {scheduler}: no Dask scheduler answered ({error}); check "
            "the address (tcp://HOST:8786) and that 'dask scheduler' runs there, or "
            "use --dask-workers N for a local cluster."
        ) from error


def version_problems(versions, package):
    """Return what differs between the workers' ``package`` and the caller's, or ``""``.

    Parameters
    ----------
    versions : dict
        ``Client.get_versions(packages=[...])``, with ``package`` among them.
    package : str
        Distribution name, for example ``"scikit-learn"``.

    Returns
    -------
    problem : str
        Empty when every worker has the caller's version (or there is no worker
        yet: joblib waits for them).
    """
    mine = versions["client"]["packages"].get(package)
    found = {
        worker: info["packages"].get(package)
        for worker, info in versions["workers"].items()
    }
    wrong = sorted(w for w, version in found.items() if version != mine)
    if not wrong:
        return ""
    seen = sorted({str(found[w]) for w in wrong})
    return (
        f"{len(wrong)} of {len(found)} workers have {package} {', '.join(seen)} "
        f"(None: not installed) and this process {mine}"
    )


def _check_versions(client, scheduler):
    """Refuse workers without this healthbalance; warn of other differences."""
    versions = client.get_versions(packages=list(PACKAGES))
    problem = version_problems(versions, "healthbalance")
    if problem:
        client.close()
        raise ValueError(
            f"--scheduler {scheduler}: {problem}: install healthbalance "
            f"{__version__} with its dask extra on every worker."
        )
    for package in PACKAGES[1:]:
        problem = version_problems(versions, package)
        if problem:
            warnings.warn(
                f"--scheduler {scheduler}: {problem}: the results may differ from a "
                "local run's; install the same version on every worker.",
                stacklevel=3,
            )


@contextlib.contextmanager
def on_cluster(client):
    """Send the benchmark's runs to ``client``'s cluster while the context is open.

    ``None`` changes nothing. The client, and a local cluster it started, are closed
    on exit.
    """
    if client is None:
        yield
        return
    with client, parallel_config(backend="dask", client=client):
        yield
