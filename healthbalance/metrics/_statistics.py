"""``GroupStatistics``: what sites share, combined into the pooled report.

Stage 1 of the evaluation pipeline for a federated run (see
:mod:`healthbalance.metrics._federated`); stages 2-4 are the engine of
:func:`group_report`, run on the sites' cells as weighted rows.
"""

import numpy as np
import pandas as pd

from healthbalance._sensitive import INTERSECTION_SEP, resolve_sensitive_features
from healthbalance._small_counts import MIN_EVENTS, MIN_GROUP_SIZE, count_text
from healthbalance.metrics._binning import BOUNDED, binning_bound
from healthbalance.metrics._coarsened import (
    range_bounds,
    spread,
    withheld_reasons,
)
from healthbalance.metrics._count_batch import MetricParams
from healthbalance.metrics._engine import evaluate
from healthbalance.metrics._federated import (
    SUMS,
    check_bin_edges,
    check_min_count,
    export_cells,
    release,
)
from healthbalance.metrics._group_report import (
    calibration_bins,
    check_bootstrap,
    long_frame,
)
from healthbalance.metrics._groups import build_groups
from healthbalance.metrics._report import GroupReport
from healthbalance.metrics._statistics_file import read_statistics, write_statistics
from healthbalance.metrics._validation import check_metrics
from healthbalance.utils._validation import plain

__all__ = ["GroupStatistics", "combine_statistics", "export_statistics"]


class GroupStatistics:
    """Per-group statistics of one or several sites, releasable and combinable.

    Made by :func:`export_statistics` (one site), :func:`combine_statistics`
    (several) or :meth:`from_file`; not constructed directly.

    Attributes
    ----------
    cells : pandas.DataFrame
        One row per released cell: ``site``, the attributes' labels, ``outcome``
        (0/1), ``bin_low`` and ``bin_high`` (the range of bins it covers: bin
        ``2 i + 1`` holds the scores equal to ``bin_edges[i]``, bin ``2 i`` those
        strictly between ``bin_edges[i - 1]`` and ``bin_edges[i]``), ``n`` and the
        sums ``score``, ``logit``, ``squared_error`` and ``log_loss`` of its
        patients.
    sites : dict
        Per site: ``n`` and ``n_events`` of all its patients as released (``None``
        when masked) and ``withheld``, the labels of its withheld groups.
    attributes : list of str
        Names of the sensitive attributes.
    bin_edges : ndarray
        The agreed score bin edges.
    threshold : float
        Threshold of the threshold metrics (a bin edge).
    n_bins : int
        Number of calibration bins (their edges are bin edges).
    min_count : int
        Smallest non-zero count released (0: trusted mode).
    """

    def __init__(
        self, cells, sites, attributes, bin_edges, threshold, n_bins, min_count
    ):
        self.cells = cells
        self.sites = sites
        self.attributes = list(attributes)
        self.bin_edges = bin_edges
        self.threshold = threshold
        self.n_bins = n_bins
        self.min_count = min_count

    def __repr__(self):
        return (
            f"GroupStatistics(sites={list(self.sites)}, attributes={self.attributes}, "
            f"{len(self.cells)} cells, min_count={self.min_count})"
        )

    def to_file(self, path):
        """Write the statistics as one human-readable JSON file.

        The format is documented in the user guide ("Evaluating a model across
        hospitals"): a schema version, the agreed bin edges, the attribute names,
        per site its released totals, the released cells and the names of the
        withheld groups. Nothing else leaves the site.

        Parameters
        ----------
        path : str or path-like
        """
        write_statistics(self, path)

    @classmethod
    def from_file(cls, path):
        """Read and check a file written by :meth:`to_file`.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        statistics : GroupStatistics

        Raises
        ------
        ValueError
            Naming the file, what is wrong with it and the fix: wrong schema,
            unknown keys, negative or non-integer counts, counts below the file's
            ``min_count``, sums inconsistent with the counts, cells of a group
            missing from the totals, totals that are not the sums of the cells.
        """
        return cls(**read_statistics(path))

    def disclosure(self):
        """Return what the small-count policy held back, per site.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``site``, ``withheld`` (the withheld groups' labels, joined),
            ``patients_withheld`` (as text: the number of the site's patients in
            withheld groups, "fewer than 11" when small, "unknown" when the
            site's total is masked) and ``coarsened_cells`` (the share of the
            released cells covering more than one bin).
        """
        records = []
        for site, info in self.sites.items():
            cells = self.cells[self.cells["site"] == site]
            released = int(cells["n"].sum())
            n = info["n"]
            text = "unknown" if n is None else count_text(n - released)
            coarse = (cells["bin_low"] != cells["bin_high"]).mean() if len(cells) else 0
            records.append(
                (
                    site,
                    "; ".join(INTERSECTION_SEP.join(g) for g in info["withheld"]),
                    text,
                    float(coarse),
                )
            )
        columns = ["site", "withheld", "patients_withheld", "coarsened_cells"]
        return pd.DataFrame.from_records(records, columns=columns)

    def report(
        self,
        *,
        metrics=None,
        n_bootstrap=1000,
        confidence_level=0.95,
        intersections="pairwise",
        target_specificity=0.9,
        target_sensitivity=0.9,
        random_state=None,
        n_jobs=None,
    ):
        """Evaluate every group over all sites, bootstrapped within site x group.

        The cells are the weighted rows of the engine of :func:`group_report`:
        the bootstrap redraws each site's patients within each finest
        intersection of the attributes (site x intersection sizes fixed,
        outcomes free). In trusted mode (``min_count=0``) the estimates equal
        ``group_report`` on the pooled rows: counts, the threshold metrics,
        Brier score, log loss and ECE exactly, AUROC and average precision
        within :attr:`GroupReport.binning_bound` (per group: the overall row's
        error is much smaller than a small group's, see :ref:`federated`).
        Merged (coarsened) cells widen that bound, and a group withheld at a
        site is missing from every reported group containing it (the
        ``reason`` column says so).

        Parameters
        ----------
        metrics : str, list or dict, default=None
            Built-in metric names (all if None); callables need rows and are
            refused.
        n_bootstrap : int, default=1000
            Number of bootstrap replicates; 0 for point estimates only.
        confidence_level : float, default=0.95
            Coverage of the intervals (Wilson intervals for the proportions).
        intersections : {"pairwise", "all"} or bool, default="pairwise"
            As in :func:`group_report`.
        target_specificity, target_sensitivity : float, default=0.9
            Operating points of ``sensitivity_at_specificity`` and
            ``specificity_at_sensitivity`` (not bin edges: within the bound).
        random_state : int, RandomState instance or None, default=None
            Seed of the bootstrap.
        n_jobs : int or None, default=None
            Threads evaluating the replicates.

        Returns
        -------
        report : GroupReport
        """
        options = {
            "metrics": metrics,
            "n_bootstrap": n_bootstrap,
            "confidence_level": confidence_level,
            "intersections": intersections,
            "targets": (target_specificity, target_sensitivity),
            "random_state": random_state,
            "n_jobs": n_jobs,
        }
        return self._report(self.attributes, **options)

    def report_by_site(self, **options):
        """:meth:`report` with ``site`` as the first attribute.

        Every site, and with ``intersections="pairwise"`` every site x group
        (attribute ``"site & race"``), gets its own rows, so a group that fails
        in one hospital is visible where its counts could be released. Takes the
        options of :meth:`report`.

        Returns
        -------
        report : GroupReport
        """
        targets = (
            options.pop("target_specificity", 0.9),
            options.pop("target_sensitivity", 0.9),
        )
        return self._report(["site", *self.attributes], targets=targets, **options)

    def _report(
        self,
        columns,
        *,
        metrics=None,
        n_bootstrap=1000,
        confidence_level=0.95,
        intersections="pairwise",
        targets=(0.9, 0.9),
        random_state=None,
        n_jobs=None,
    ):
        metrics = check_metrics(metrics)
        rows = [name for name, m in metrics.items() if not isinstance(m, str)]
        if rows:
            raise ValueError(
                f"metrics {rows} are callables, which need the rows; a federated "
                "evaluation has only the sites' cells: use the built-in metrics."
            )
        check_bootstrap(n_bootstrap, confidence_level, "intersection")
        if self.cells.empty:
            raise ValueError(
                f"sites {list(self.sites)} released no cells: every group was "
                "withheld as too small. Combine more sites, use coarser groups "
                "(fewer sensitive attributes), or min_count=0 for a trusted "
                "coordinator."
            )
        params = MetricParams(self.threshold, *targets, self.n_bins)
        cells, score = spread(self.cells.reset_index(drop=True), self.bin_edges)
        y = cells["outcome"].to_numpy(np.int64)
        weights = cells["n"].to_numpy(np.int64)
        means = {stat: cells[stat].to_numpy(np.float64) / weights for stat in SUMS}
        low, high = (cells[c].to_numpy(np.int64) for c in ("bin_low", "bin_high"))
        frame = resolve_sensitive_features(y, cells[columns], caller="report")
        groups = build_groups(frame, intersections=intersections)
        keys = cells[["site", *self.attributes]].astype(str).agg("\x1f".join, axis=1)
        groups.codes = np.unique(keys.to_numpy(), return_inverse=True)[1]
        evaluation = evaluate(
            y,
            [score],
            groups,
            metrics,
            params,
            n_bootstrap=n_bootstrap,
            random_state=random_state,
            n_jobs=n_jobs,
            cells=(weights, [means]),
        )
        minimums = (MIN_GROUP_SIZE, MIN_EVENTS)
        long = long_frame(
            groups, metrics, evaluation, 0, confidence_level, minimums, True
        )
        long["reason"] = withheld_reasons(long, self.sites, self.attributes)
        calibration = calibration_bins(
            y, score, groups, self.n_bins, (weights, means["score"])
        )
        bound = binning_bound(y, groups, (weights, None), [low], params)[0]
        coarse = [bool((low[r] != high[r]).any()) for r in groups.rows]
        if any(coarse):
            wide = range_bounds(y, weights, low, high, groups.rows)
            for name in BOUNDED:
                bound[name] = np.where(coarse, wide[name], bound[name])
        replicates = evaluation.replicates[:, 0]
        return GroupReport(long, replicates, calibration, confidence_level, bound)


def export_statistics(
    y_true,
    y_score,
    *,
    sensitive_features,
    bin_edges,
    site,
    threshold=0.5,
    n_bins=10,
    min_count=11,
    pos_label=None,
):
    """Reduce one site's rows to the statistics it may share.

    The rows become cells (finest intersection of the attributes x outcome x
    score bin on the agreed ``bin_edges``, with the count and the sums of score,
    logit, squared error and log loss), the reduction of the Dask path. With
    ``min_count > 0`` the small-count policy of :doc:`/privacy` decides what is
    released: a group with fewer than ``min_count`` patients, events or
    non-events, or with 1 to ``min_count - 1`` true/false positives/negatives
    at the threshold, is withheld (listed by name, without its size), with
    complementary withholding so that the site's total does not give it back;
    the other groups' adjacent bins (of one outcome, on one side of the
    threshold: no cell straddles it) are merged until every released count is
    0 or at least ``min_count``. ``min_count=0``
    releases every cell (a trusted coordinator).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary outcome.
    y_score : array-like of shape (n_samples,)
        Predicted probability of the event.
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes)
        Group membership, as for :func:`group_report`; every site must use the
        same attribute names.
    bin_edges : array-like
        Score bin edges agreed by every site, from :func:`make_bin_edges`.
    site : str
        Name of the site.
    threshold : float, default=0.5
        Threshold of the threshold metrics; must be one of ``bin_edges``.
    n_bins : int, default=10
        Calibration bins; their edges ``k / n_bins`` must be in ``bin_edges``.
    min_count : int, default=11
        Smallest non-zero count released; 0 for the trusted mode.
    pos_label : int, float, bool or str, default=None
        Label of the event.

    Returns
    -------
    statistics : GroupStatistics

    See Also
    --------
    combine_statistics : Several sites' statistics, to report on together.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.metrics import export_statistics, make_bin_edges
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400)
    >>> p = np.clip(0.3 + 0.4 * y + rng.normal(0, 0.2, 400), 0, 1)
    >>> sex = rng.choice(["F", "M"], 400)
    >>> stats = export_statistics(y, p, sensitive_features=sex, site="A",
    ...                           bin_edges=make_bin_edges())
    >>> bool((stats.cells["n"] >= 11).all())
    True
    """
    if not isinstance(site, str) or not site:
        raise ValueError(
            f"site must be a non-empty string naming the site, got {plain(site)!r}."
        )
    min_count = check_min_count(min_count)
    edges = check_bin_edges(bin_edges, threshold, n_bins)
    cells, attributes = export_cells(
        y_true, y_score, sensitive_features, edges, pos_label
    )
    if "site" in attributes:
        raise ValueError(
            "sensitive_features has an attribute named 'site', which names the "
            "sites of a federated evaluation: rename it."
        )
    cells, withheld, (n, events) = release(
        cells, attributes, edges, threshold, min_count
    )
    cells.insert(0, "site", site)
    sites = {site: {"n": n, "n_events": events, "withheld": withheld}}
    return GroupStatistics(
        cells, sites, attributes, edges, threshold, n_bins, min_count
    )


def combine_statistics(statistics):
    """Combine several sites' statistics into one, to report on together.

    Parameters
    ----------
    statistics : list of GroupStatistics
        From :func:`export_statistics` or :meth:`GroupStatistics.from_file`, on the
        same bin edges, threshold, calibration bins and attribute names, with
        distinct site names.

    Returns
    -------
    statistics : GroupStatistics
        Its ``min_count`` is the smallest of the sites'.

    Examples
    --------
    >>> import numpy as np
    >>> from healthbalance.metrics import (combine_statistics, export_statistics,
    ...                                    make_bin_edges)
    >>> rng, edges = np.random.default_rng(0), make_bin_edges()
    >>> sites = [export_statistics(rng.integers(0, 2, 200), rng.random(200),
    ...                            sensitive_features=rng.choice(["F", "M"], 200),
    ...                            bin_edges=edges, site=name, min_count=0)
    ...          for name in ("A", "B")]
    >>> list(combine_statistics(sites).sites)
    ['A', 'B']
    """
    statistics = list(statistics)
    if not statistics or not all(isinstance(s, GroupStatistics) for s in statistics):
        raise ValueError(
            "statistics must be a non-empty list of GroupStatistics (from "
            "export_statistics or GroupStatistics.from_file)."
        )
    first = statistics[0]
    for other in statistics[1:]:
        _check_agree(first, other)
    names = [site for s in statistics for site in s.sites]
    if len(set(names)) < len(names):
        raise ValueError(
            f"site names {names} repeat: every site's file must name a different "
            "site (pass site= to export_statistics)."
        )
    cells = pd.concat([s.cells for s in statistics], ignore_index=True)
    sites = {k: v for s in statistics for k, v in s.sites.items()}
    min_count = min(s.min_count for s in statistics)
    return GroupStatistics(
        cells,
        sites,
        first.attributes,
        first.bin_edges,
        first.threshold,
        first.n_bins,
        min_count,
    )


def _check_agree(first, other):
    """Raise unless two sites' statistics were made on the same agreement."""
    pair = f"sites {list(first.sites)} and {list(other.sites)}"
    if first.attributes != other.attributes:
        raise ValueError(
            f"{pair} have different attributes {first.attributes} and "
            f"{other.attributes}: export every site with the same columns."
        )
    if first.bin_edges.shape != other.bin_edges.shape or not np.array_equal(
        first.bin_edges, other.bin_edges
    ):
        raise ValueError(
            f"{pair} used different bin edges: agree on one make_bin_edges(...) "
            "file and export every site with it."
        )
    if (first.threshold, first.n_bins) != (other.threshold, other.n_bins):
        raise ValueError(
            f"{pair} used different thresholds or calibration bins "
            f"({first.threshold}, {first.n_bins}) and ({other.threshold}, "
            f"{other.n_bins}): export every site with the same ones."
        )
