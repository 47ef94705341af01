"""Stratified bootstrap kernels shared by the evaluation tools.

The bootstrap resamples rows *within strata* (for the metrics: the finest
intersection of the sensitive attributes, or one stratum of all rows; never the
outcome), so every replicate has the same number of rows in each stratum as the data.
A replicate is represented by its resample counts (how often each row was drawn), never
by an ``n_samples x n_bootstrap`` matrix: replicates are drawn in chunks whose size
depends only on the data size, each chunk with its own generator spawned from one
:class:`numpy.random.SeedSequence`. The replicates are therefore identical whatever
``n_jobs`` is.
"""

import numpy as np
from joblib import Parallel, delayed
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

__all__ = [
    "StrataLayout",
    "bootstrap_chunks",
    "chunk_sizes",
    "percentile_interval",
    "stratified_bootstrap_indices",
]

# About 8 million resample counts per chunk (8 replicates of 1M rows) bounds the memory
# of one chunk (about 250 MB with its cumulative counts) while keeping numpy calls
# large enough that the per-call overhead, which holds the GIL, stays small: at 1M
# rows, 2**21 (2 replicates per chunk) took 36 s for the calibration set, 2**23 26 s.
_CHUNK_ELEMENTS = 2**23
_UINT16_MAX = np.iinfo(np.uint16).max


class StrataLayout:
    """Rows ordered so that every stratum is a contiguous block.

    Parameters
    ----------
    strata : array-like of shape (n_samples,)
        Integer stratum code of each row, *already sorted* (non-decreasing).
    weights : array-like of int of shape (n_samples,) or None, default=None
        Number of patients each row stands for (a cell of binned rows); ``None``
        for one patient per row. A replicate redraws each stratum's patients, so
        a cell's count is multinomial: the stratum's total weight drawn over its
        cells with probabilities ``weight / total``, the same distribution as
        drawing the patients themselves.

    Attributes
    ----------
    starts : ndarray of shape (n_strata,)
        Position of the first row of each non-empty stratum.
    sizes : ndarray of shape (n_strata,)
        Number of rows of each non-empty stratum.
    n_samples : int
        Total number of rows.

    Examples
    --------
    >>> from healthbalance.utils._bootstrap import StrataLayout
    >>> layout = StrataLayout([0, 0, 1, 3])
    >>> layout.starts.tolist(), layout.sizes.tolist()
    ([0, 2, 3], [2, 1, 1])
    """

    def __init__(self, strata, weights=None):
        strata = np.asarray(strata)
        self.weights = None if weights is None else np.asarray(weights, np.int64)
        if strata.size and np.any(np.diff(strata) < 0):
            raise ValueError("strata must be sorted: order the rows by stratum first.")
        _, starts, sizes = np.unique(strata, return_index=True, return_counts=True)
        self.starts = starts.astype(np.int64)
        self.sizes = sizes.astype(np.int64)
        self.n_samples = int(strata.size)

    def draw_positions(self, rng, n_replicates):
        """Draw resampled row positions for ``n_replicates`` replicates.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.
        n_replicates : int
            Number of replicates to draw.

        Returns
        -------
        positions : ndarray of shape (n_replicates, n_samples), dtype=int64
            For each replicate, the drawn rows: stratum ``k`` occupies the same columns
            as in the data and holds rows drawn with replacement from stratum ``k``.
        """
        positions = np.empty((n_replicates, self.n_samples), dtype=np.int64)
        for start, size, block in self._blocks(rng, n_replicates):
            positions[:, start : start + size] = block + start
        return positions

    def _blocks(self, rng, n_replicates):
        """Yield (start, size, draws within the stratum) for every stratum."""
        for start, size in zip(self.starts, self.sizes, strict=True):
            draws = rng.integers(0, size, size=(n_replicates, size), dtype=np.int32)
            yield start, size, draws

    def draw_counts(self, rng, n_replicates):
        """Draw resample counts for ``n_replicates`` replicates.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.
        n_replicates : int
            Number of replicates to draw.

        Returns
        -------
        counts : ndarray of shape (n_replicates, n_samples), dtype=uint16 or float64
            How often each row was drawn, equal to the counts of the positions of
            :meth:`draw_positions` with the same generator state. Small integers
            (uint16) keep the memory traffic low; float64 in the (astronomically
            unlikely) case of a row drawn more than 65,535 times. With
            ``weights``, the patients drawn in each cell (int32, or int64 for
            more than 2**31 patients).
        """
        if self.weights is not None:
            return self._draw_weighted(rng, n_replicates)
        counts = np.empty((n_replicates, self.n_samples), dtype=np.uint16)
        for start, size, block in self._blocks(rng, n_replicates):
            # one bincount per stratum and replicate: a small counted range (cache
            # friendly), no offset array, and 1-d copies (numpy releases the GIL)
            for row, draws in enumerate(block):
                counted = np.bincount(draws, minlength=size)
                if size > _UINT16_MAX and counted.max() > _UINT16_MAX:
                    counts = counts.astype(np.float64)
                counts[row, start : start + size] = counted
        return counts

    def _draw_weighted(self, rng, n_replicates):
        """Multinomial counts of the cells of every stratum."""
        # int32 holds any count of fewer than 2**31 patients (half the traffic)
        small = self.weights.sum() < np.iinfo(np.int32).max
        counts = np.empty(
            (n_replicates, self.n_samples), dtype=np.int32 if small else np.int64
        )
        for start, size in zip(self.starts, self.sizes, strict=True):
            weights = self.weights[start : start + size]
            total = int(weights.sum())
            counts[:, start : start + size] = rng.multinomial(
                total, weights / total, size=n_replicates
            )
        return counts


def chunk_sizes(n_samples, n_bootstrap):
    """Split ``n_bootstrap`` replicates into chunks bounded in memory.

    The split depends only on ``n_samples`` and ``n_bootstrap`` (never on ``n_jobs``),
    so that the random streams, one per chunk, are reproducible.

    Parameters
    ----------
    n_samples : int
        Number of rows resampled per replicate.
    n_bootstrap : int
        Number of replicates.

    Returns
    -------
    sizes : list of int
        Number of replicates of each chunk; they sum to ``n_bootstrap``.

    Examples
    --------
    >>> from healthbalance.utils._bootstrap import chunk_sizes
    >>> chunk_sizes(4_000_000, 5)
    [2, 2, 1]
    """
    per_chunk = int(
        np.clip(_CHUNK_ELEMENTS // max(n_samples, 1), 1, max(n_bootstrap, 1))
    )
    full, rest = divmod(n_bootstrap, per_chunk)
    return [per_chunk] * full + ([rest] if rest else [])


def _chunk_seeds(random_state, n_chunks):
    entropy = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return np.random.SeedSequence(entropy).spawn(n_chunks)


def bootstrap_chunks(function, n_samples, n_bootstrap, *, random_state, n_jobs=None):
    """Run ``function(rng, n_replicates)`` on every chunk of replicates.

    Parameters
    ----------
    function : callable
        Called as ``function(rng, n_replicates)`` with a fresh generator per chunk;
        returns an array whose first axis has ``n_replicates`` entries.
    n_samples : int
        Number of rows per replicate (sets the chunk size).
    n_bootstrap : int
        Total number of replicates.
    random_state : int, RandomState instance or None
        Seed of the replicates.
    n_jobs : int or None, default=None
        Number of threads (the kernels release the GIL; BLAS is held to one
        thread meanwhile); the result does not depend on it.

    Returns
    -------
    result : ndarray
        The chunk results concatenated along the first axis.

    Examples
    --------
    >>> from healthbalance.utils._bootstrap import bootstrap_chunks
    >>> out = bootstrap_chunks(lambda rng, k: rng.random(k), 10, 4, random_state=0)
    >>> out.shape
    (4,)
    """
    sizes = chunk_sizes(n_samples, n_bootstrap)
    seeds = _chunk_seeds(random_state, len(sizes))
    tasks = (
        delayed(function)(np.random.default_rng(s), k)
        for s, k in zip(seeds, sizes, strict=True)
    )
    # one BLAS thread per bootstrap thread: BLAS threads would compete with them
    with threadpool_limits(limits=1, user_api="blas"):
        results = Parallel(n_jobs=n_jobs, prefer="threads")(tasks)
    return np.concatenate(results, axis=0)


def stratified_bootstrap_indices(
    strata, n_bootstrap, *, sort_by=None, random_state=None
):
    """Yield the row indices of each stratified bootstrap replicate.

    This is the naive form of the replicates used by the metrics (same seeds, same
    chunks, same draws), meant for checking and for user-defined statistics.

    Parameters
    ----------
    strata : array-like of shape (n_samples,)
        Stratum code of each row (any order).
    n_bootstrap : int
        Number of replicates.
    sort_by : array-like of shape (n_samples,) or None, default=None
        Order of the rows within a stratum (stable); the data order if None.
        :func:`~healthbalance.metrics.group_report` (``stratify="intersection"``,
        strata the intersection codes) orders them by score, then outcome (the
        first model's score for :func:`~healthbalance.metrics.compare_models`), so
        passing the same scores here reproduces its replicates when no scores tie.
    random_state : int, RandomState instance or None, default=None
        Seed of the replicates.

    Yields
    ------
    indices : ndarray of shape (n_samples,)
        Indices of the rows of one replicate, drawn with replacement within strata.

    Examples
    --------
    >>> from healthbalance.utils._bootstrap import stratified_bootstrap_indices
    >>> idx = next(stratified_bootstrap_indices([0, 0, 1], 1, random_state=0))
    >>> int(idx[-1])  # the only row of stratum 1
    2
    """
    strata = np.asarray(strata)
    if sort_by is None:
        order = np.argsort(strata, kind="stable")
    else:
        order = np.lexsort((np.asarray(sort_by), strata))
    layout = StrataLayout(strata[order])
    sizes = chunk_sizes(layout.n_samples, n_bootstrap)
    for seed, size in zip(_chunk_seeds(random_state, len(sizes)), sizes, strict=True):
        positions = layout.draw_positions(np.random.default_rng(seed), size)
        yield from order[positions]


def percentile_interval(replicates, confidence_level, axis=0):
    """Percentile bootstrap interval, ignoring replicates where a value is undefined.

    Parameters
    ----------
    replicates : ndarray
        Bootstrap replicates along ``axis``; NaN marks an undefined replicate.
    confidence_level : float
        Coverage of the interval, in (0, 1).
    axis : int, default=0
        Axis of the replicates.

    Returns
    -------
    low, high : ndarray
        The ``(1 - confidence_level) / 2`` and ``(1 + confidence_level) / 2``
        quantiles (numpy's default linear interpolation); NaN where every replicate
        is NaN or there are no replicates.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.utils._bootstrap import percentile_interval
    >>> low, high = percentile_interval(np.arange(101.0), 0.9)
    >>> float(low), float(high)
    (5.0, 95.0)
    """
    replicates = np.asarray(replicates, dtype=float)
    alpha = (1 - confidence_level) / 2
    shape = np.delete(replicates.shape, axis)
    if replicates.shape[axis] == 0:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    all_nan = np.isnan(replicates).all(axis=axis, keepdims=True)
    defined = ~np.squeeze(all_nan, axis=axis)
    # all-NaN slices get a placeholder so that nanquantile does not warn
    filled = np.where(all_nan, 0.0, replicates)
    low, high = np.nanquantile(filled, [alpha, 1 - alpha], axis=axis)
    return np.where(defined, low, np.nan), np.where(defined, high, np.nan)
