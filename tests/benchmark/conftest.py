"""The small benchmark run shared by the benchmark tests (seconds to fit)."""

import warnings

import pytest

from healthbalance.benchmark import run_benchmark
from healthbalance.datasets import make_icu_cohort

# plain training, a class rebalancer that miscalibrates, a group rebalancer, and
# fairlearn's randomized classifier, whose scores are not risks
SMALL_RUN_STRATEGIES = ["erm", "random_over", "group_over", "fairlearn_eg"]


@pytest.fixture(scope="session")
def cohort():
    return make_icu_cohort(4_000, random_state=0)


@pytest.fixture(scope="session")
def strategies():
    return list(SMALL_RUN_STRATEGIES)


@pytest.fixture(scope="session")
def results(cohort, strategies):
    with warnings.catch_warnings():
        # fairlearn 0.15's ExponentiatedGradient triggers pandas 3 deprecations
        # (Series.at enlargement, setting a bool into a float Series) in its own
        # code: not ours to fix, and harmless here.
        warnings.filterwarnings("ignore", module=r"fairlearn\.")
        return _small_run(cohort, strategies)


def _small_run(cohort, strategies):
    return run_benchmark(
        cohort.data,
        cohort.target,
        cohort.sensitive_features[["race_ethnicity", "sex"]],
        strategies=strategies,
        models=["logistic"],
        quick=True,
        n_bootstrap=50,
        cache_dir=False,
        progress=False,
    )
