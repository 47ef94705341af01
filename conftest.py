"""Test-session settings shared by the doctests and the test suite."""

import atexit
import os
import shutil
import tempfile

import pytest

# scikit-learn's check_array_api_input skips itself unless SciPy's array API support
# is switched on; it must be set before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# The suite never writes to the real home: the user cache directory (run cache of the
# benchmark, healthbalance.utils._cache.user_cache_dir) points at a throwaway folder,
# for the doctests, the tests and the notebooks' kernels alike.
_CACHE_HOME = tempfile.mkdtemp(prefix="healthbalance-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE_HOME
atexit.register(shutil.rmtree, _CACHE_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def dask_client():
    """One 2-worker ``distributed.LocalCluster`` shared by every test that needs it."""
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        # a free port: the scheduler's HTTP server starts even without a
        # dashboard, on 8787 by default, and "Port 8787 is already in use" (another
        # cluster on the machine) is a warning, hence an error in the suite
        dashboard_address=":0",
        memory_limit="2GiB",
    )
    with cluster, distributed.Client(cluster) as client:
        yield client
