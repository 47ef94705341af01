"""Metrics of a group made of a few disjoint parts, computed from the parts.

The overall group (and, with several attributes, each attribute's group) is a union
of a few bootstrap strata whose rows are already sorted. Instead of gathering its
resample counts into one merged order for every replicate, the additive statistics
(sizes, confusion counts, Brier and log-loss sums, per-bin calibration residuals) are
summed over the parts. The rank statistics (AUROC, average precision) only gather the
counts of the whole group's positives (a small share of the rows): the counted
negatives below each positive are the sum, over the parts, of each part's cumulative
negative counts read through search tables computed once. The values are those of a
:class:`~healthbalance.metrics._count_batch.CountBatch` of the whole group.
"""

from functools import cached_property

import numpy as np

from healthbalance.metrics._count_batch import CountBatch, _precision_sum, take_rows

__all__ = ["MAX_PARTS", "MergedBatch", "MergedGroup"]

# Above this many parts the cross-part tables cost more than one merged gather.
MAX_PARTS = 16


class MergedGroup:
    """Search tables between the parts of a group.

    Parameters
    ----------
    parts : list of SortedGroup
        Disjoint parts (sorted rows) making up the group.
    whole : SortedGroup
        The same group sorted as a whole (for metrics that need it).
    """

    def __init__(self, parts, whole):
        self.parts = parts
        self.whole = whole
        self.params = whole.params
        # per part: its negatives strictly below / at or below each positive of the
        # whole group
        self.neg_below = [_below(part.p_neg, whole.p_pos) for part in parts]


def _below(sorted_scores, scores):
    below = np.searchsorted(sorted_scores, scores, side="left")
    at_or_below = np.searchsorted(sorted_scores, scores, side="right")
    return below, below if np.array_equal(below, at_or_below) else at_or_below


class MergedBatch:
    """Resample counts of a merged group, held as the batches of its parts.

    Parameters
    ----------
    group : MergedGroup
        The merged group.
    batches : list of CountBatch
        The batches of the parts, in the order of ``group.parts``.
    counts : ndarray of shape (n_replicates, n_columns) or None
        The resample counts (``None`` for unit counts), for :attr:`whole`.
    """

    def __init__(self, group, batches, counts):
        self.group = group
        self.batches = batches
        self._counts = counts

    def _sum(self, name):
        return sum(getattr(b, name) for b in self.batches)

    @cached_property
    def n_pos(self):
        return self._sum("n_pos")

    @cached_property
    def n_neg(self):
        return self._sum("n_neg")

    @cached_property
    def n(self):
        return self.n_pos + self.n_neg

    @cached_property
    def confusion(self):
        """``(tp, fp, fn, tn)`` at the threshold, summed over the parts."""
        confusions = [b.confusion for b in self.batches]
        return tuple(sum(parts) for parts in zip(*confusions, strict=True))

    @cached_property
    def squared_error_sum(self):
        return self._sum("squared_error_sum")

    @cached_property
    def log_loss_sum(self):
        return self._sum("log_loss_sum")

    @cached_property
    def bin_residuals(self):
        return self._sum("bin_residuals")

    @cached_property
    def neg_below_pos(self):
        """Counted negatives strictly below, and at or below, each whole positive."""
        tables = self.group.neg_below
        below = self._gather([t[0] for t in tables])
        if all(t[1] is t[0] for t in tables):
            return below, below
        return below, self._gather([t[1] for t in tables])

    def _gather(self, tables):
        """Sum over the parts of their cumulative negative counts at ``tables``."""
        total = None
        for batch, table in zip(self.batches, tables, strict=True):
            part = take_rows(batch.cum_neg, table)
            total = part if total is None else np.add(total, part, out=total)
        return total

    @cached_property
    def auc_wins(self):
        below, at_or_below = self.neg_below_pos
        cpos = self.whole.cpos
        if below is at_or_below:
            return np.einsum("ij,ij->i", cpos, below)
        return 0.5 * np.einsum("ij,ij->i", cpos, below + at_or_below)

    @cached_property
    def precision_sum(self):
        whole = self.whole
        fp = self.n_neg[:, None] - self.neg_below_pos[0]
        return _precision_sum(whole.cpos, whole.pos_from_first_tie(), fp)

    @cached_property
    def whole(self):
        """A plain batch of the whole group.

        Its positives serve the rank statistics; all its rows serve the metrics that
        need the whole group's order.
        """
        return CountBatch(self.group.whole, self._counts)
