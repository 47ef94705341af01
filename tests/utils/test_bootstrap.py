import numpy as np
import pytest

from healthbalance.utils import (
    StrataLayout,
    bootstrap_chunks,
    chunk_sizes,
    percentile_interval,
    stratified_bootstrap_indices,
)


@pytest.mark.parametrize("n_samples", [1, 10, 3_000_000])
@pytest.mark.parametrize("n_bootstrap", [1, 7, 1000])
def test_chunk_sizes_cover_all_replicates(n_samples, n_bootstrap):
    sizes = chunk_sizes(n_samples, n_bootstrap)
    assert sum(sizes) == n_bootstrap
    assert max(sizes) * n_samples <= max(2**23, n_samples)  # memory bound of a chunk


def test_counts_are_the_counts_of_the_positions():
    layout = StrataLayout(np.repeat([0, 1, 4], [5, 1, 7]))
    positions = layout.draw_positions(np.random.default_rng(3), 4)
    counts = layout.draw_counts(np.random.default_rng(3), 4)
    for row, count in zip(positions, counts, strict=True):
        np.testing.assert_array_equal(np.bincount(row, minlength=13), count)


def test_draws_stay_within_their_stratum():
    strata = np.random.default_rng(0).integers(0, 4, 200)
    for indices in stratified_bootstrap_indices(strata, 20, random_state=1):
        np.testing.assert_array_equal(np.sort(strata[indices]), np.sort(strata))


def test_unsorted_strata_are_rejected():
    with pytest.raises(ValueError, match="sorted"):
        StrataLayout([1, 0])


def test_sort_by_only_changes_which_row_of_the_stratum_is_drawn():
    rng = np.random.default_rng(0)
    strata, key = rng.integers(0, 3, 50), rng.random(50)
    a = np.array(list(stratified_bootstrap_indices(strata, 5, random_state=0)))
    b = np.array(
        list(stratified_bootstrap_indices(strata, 5, sort_by=key, random_state=0))
    )
    np.testing.assert_array_equal(strata[a], strata[b])
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_chunks_do_not_depend_on_n_jobs(n_jobs):
    def draw(rng, k):
        return rng.random((k, 3))

    reference = bootstrap_chunks(draw, 2**20, 9, random_state=42, n_jobs=None)
    result = bootstrap_chunks(draw, 2**20, 9, random_state=42, n_jobs=n_jobs)
    assert reference.shape == (9, 3)
    np.testing.assert_array_equal(reference, result)


def test_percentile_interval_matches_numpy_and_ignores_nan():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(200, 3))
    values[:10, 1] = np.nan
    values[:, 2] = np.nan
    low, high = percentile_interval(values, 0.9)
    np.testing.assert_allclose(low[0], np.quantile(values[:, 0], 0.05))
    np.testing.assert_allclose(high[1], np.quantile(values[10:, 1], 0.95))
    assert np.isnan(low[2]) and np.isnan(high[2])


def test_percentile_interval_without_replicates_is_nan():
    low, high = percentile_interval(np.empty((0, 2)), 0.95)
    assert np.isnan(low).all() and np.isnan(high).all()


@pytest.mark.parametrize("sizes", [[50, 1, 7, 200], [3000]])
def test_draws_are_uniform_within_each_stratum(sizes):
    """Chi-square on how often each row is drawn, stratum by stratum."""
    from scipy.stats import chisquare

    layout = StrataLayout(np.repeat(np.arange(len(sizes)), sizes))
    counts = layout.draw_counts(np.random.default_rng(11), 400).astype(np.int64)
    totals = counts.sum(axis=0)
    for start, size in zip(layout.starts, layout.sizes, strict=True):
        block = counts[:, start : start + size]
        np.testing.assert_array_equal(block.sum(axis=1), size)  # stratum size kept
        if size > 1:
            assert chisquare(totals[start : start + size]).pvalue > 1e-3
