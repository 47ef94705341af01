"""The small-count policy: when a group is unreliable and what is masked on export.

Every report, table, CSV, HTML page, plot and sentence of the library asks this module;
no other module holds a threshold or re-derives a mask.

Reliability (:func:`reliability`)
    A group with fewer than ``min_group_size`` patients (30 by default), fewer than
    ``min_events`` events or non-events (10 by default), or a single outcome class is
    flagged ``reliable=False``. :func:`group_report`, :func:`compare_models` and
    :func:`make_group_scorer` share these defaults. The reason never contains a count.
Suppression on export (:func:`suppress`)
    A count from 1 to ``suppress_below - 1`` (11 by default, as in the CMS cell
    size suppression policy) is never released, directly or by subtraction. A
    group's ``n`` is masked when below the threshold; its ``n_events`` when the events
    or the non-events are below it (either reveals the other through ``n``); every
    estimate and interval of such a group is masked too (a prevalence or a
    sensitivity is computed from the events).
Confusion counts
    The metrics computed from the confusion counts at the threshold (registry
    ``statistics`` with ``"confusion"``: sensitivity, specificity, ppv, npv, f1, fnr,
    fpr, net_benefit, ...) together give back the group's TP, FP, FN and TN. Their
    rows carry ``smallest_confusion_count``, the smallest non-zero of the four (see
    :func:`smallest_nonzero`); when it is from 1 to ``suppress_below - 1``, the
    estimate, interval and the count itself are masked on those rows, with a reason
    that names the rule, not the count. Zero counts are released, as elsewhere.
    The four counts add up like the others: while a partition (a total and its
    parts) has exactly one group with masked confusion metrics, the smallest
    released group next to it has them masked too.
Messages (:func:`count_text`)
    Warnings and errors that mention a count of patients or rows write it through
    :func:`count_text`, which says "fewer than 11" instead of a small count, and
    leave out any number from which a small count can be worked back.
Complementary suppression
    The released counts obey sums: the overall group is the sum of each attribute's
    groups, and every group of an attribute is the sum of its intersections. While a
    masked count from 1 to ``suppress_below - 1`` can still be solved from these sums
    and the released counts (counts are non-negative integers, so a total of zero,
    released or derived, pins each of its parts), the smallest released group next to
    it (a sibling under the same total, else one of its parts, else its total) is
    masked as well, released zeros included.
"""

import numpy as np
import pandas as pd
from scipy.optimize import LinearConstraint, milp

from healthbalance._sensitive import INTERSECTION_SEP
from healthbalance.utils._validation import plain

__all__ = [
    "MIN_EVENTS",
    "MIN_GROUP_SIZE",
    "SUPPRESS_BELOW",
    "check_suppress_below",
    "count_text",
    "reliability",
    "smallest_nonzero",
    "suppress",
    "suppress_parts",
    "suppression_mask",
    "too_small",
]

MIN_GROUP_SIZE = 30
MIN_EVENTS = 10
SUPPRESS_BELOW = 11
OVERALL = "overall"
ESTIMATES = (
    "estimate",
    "ci_low",
    "ci_high",
    "difference",
    "reference_estimate",
    "n_failed",  # replicates without events hint at the number of events
    # decision curves (treat_all gives the prevalence)
    "net_benefit",
    "treat_all",
    "net_interventions_avoided",
    "difference_ci_low",
    "difference_ci_high",
)
# each value of these columns is a table of its own (a curve: one per threshold)
BLOCKS = ("seed", "model", "strategy", "threshold")
SMALLEST_CONFUSION = "smallest_confusion_count"


def too_small(n, n_events, min_group_size=MIN_GROUP_SIZE, min_events=MIN_EVENTS):
    """Whether groups have too few patients, and too few events or non-events.

    Works on numbers and on arrays of the groups' sizes and events alike.

    Examples
    --------
    >>> from healthbalance._small_counts import too_small
    >>> [bool(v) for v in too_small(25, 12)]
    [True, False]
    """
    n, n_events = np.asarray(n), np.asarray(n_events)
    return n < min_group_size, np.minimum(n_events, n - n_events) < min_events


def reliability(n, n_events, min_group_size=MIN_GROUP_SIZE, min_events=MIN_EVENTS):
    """Return ``(reliable, reason)`` of a group from its size and number of events.

    The reason names the rule that failed, never the group's counts, so that it can
    be exported next to masked counts.

    Examples
    --------
    >>> from healthbalance._small_counts import reliability
    >>> reliability(6, 2)
    (False, 'fewer than 30 patients; fewer than 10 events or non-events')
    >>> reliability(500, 40)
    (True, '')
    """
    reasons = []
    if n_events == 0 or n_events == n:
        reasons.append("only one outcome class")
    few_patients, few_events = too_small(n, n_events, min_group_size, min_events)
    if few_patients:
        reasons.append(f"fewer than {min_group_size} patients")
    if few_events:
        reasons.append(f"fewer than {min_events} events or non-events")
    return not reasons, "; ".join(reasons)


def count_text(count, suppress_below=SUPPRESS_BELOW):
    """Write a count for a message: ``"fewer than 11"`` when it may not be released.

    Examples
    --------
    >>> from healthbalance._small_counts import count_text
    >>> count_text(3), count_text(0), count_text(1012)
    ('fewer than 11', '0', '1012')
    """
    count = int(count)
    return f"fewer than {suppress_below}" if 0 < count < suppress_below else str(count)


def check_suppress_below(suppress_below):
    """Raise unless ``suppress_below`` is a positive integer; return it.

    Examples
    --------
    >>> from healthbalance._small_counts import check_suppress_below
    >>> check_suppress_below(11)
    11
    """
    if (
        isinstance(suppress_below, bool)
        or not isinstance(suppress_below, int | np.integer)
        or suppress_below < 1
    ):
        raise ValueError(
            "suppress_below must be a positive integer, got "
            f"{plain(suppress_below)!r}; "
            f"e.g. {SUPPRESS_BELOW} for the usual small-count rule."
        )
    return int(suppress_below)


def smallest_nonzero(counts):
    """Return the smallest non-zero count, ``pd.NA`` if all are zero.

    Examples
    --------
    >>> from healthbalance._small_counts import smallest_nonzero
    >>> smallest_nonzero([40, 0, 3, 900]), smallest_nonzero([0, 0])
    (3, <NA>)
    """
    counts = np.asarray(counts)
    counts = counts[counts > 0]
    return int(counts.min()) if counts.size else pd.NA


def suppression_mask(n, n_events, suppress_below=SUPPRESS_BELOW):
    """Return the groups whose own counts are too small to release.

    Parameters
    ----------
    n, n_events : array-like of shape (n_groups,)
        Patients and events of each group.
    suppress_below : int, default=11
        Smallest count that may be shown.

    Returns
    -------
    small : ndarray of bool
        Groups with fewer patients, events or non-events than ``suppress_below``:
        their estimates, intervals and ``n_events`` are masked.
    small_n : ndarray of bool
        Groups whose ``n`` itself is masked.

    Examples
    --------
    >>> from healthbalance._small_counts import suppression_mask
    >>> small, small_n = suppression_mask([5, 50, 50], [2, 20, 45], 11)
    >>> small.tolist(), small_n.tolist()
    ([True, False, True], [True, False, False])
    """
    n = pd.to_numeric(pd.Series(n), errors="coerce").to_numpy(dtype=float)
    events = pd.to_numeric(pd.Series(n_events), errors="coerce").to_numpy(dtype=float)
    small_n = n < suppress_below
    small = small_n | (events < suppress_below) | ((n - events) < suppress_below)
    return small, small_n


def suppress(frame, suppress_below=SUPPRESS_BELOW):
    """Mask small counts, what was estimated from them, and what reveals them.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows with ``attribute``, ``group``, ``n`` and ``n_events`` (a
        :meth:`GroupReport.to_frame`, :func:`compare_models` or benchmark table);
        ``seed``, ``model``, ``strategy`` and ``threshold`` columns, if any, split
        it into separate tables. Frames without ``n`` and ``n_events`` are
        returned unchanged. A ``smallest_confusion_count`` column, if any, masks
        the rows of the metrics computed from the confusion counts (see the
        module docstring).
    suppress_below : int, default=11
        Smallest count that may be released (see the module docstring).

    Returns
    -------
    frame : pandas.DataFrame
        A copy in which masked counts are ``<NA>`` and masked estimates ``NaN``.

    Examples
    --------
    >>> import pandas as pd
    >>> from healthbalance._small_counts import suppress
    >>> frame = pd.DataFrame({"attribute": ["overall", "race", "race", "race"],
    ...                       "group": ["overall", "A", "B", "C"],
    ...                       "n": [300, 6, 100, 194], "n_events": [60, 2, 20, 38],
    ...                       "estimate": [0.8, 0.7, 0.9, 0.8]})
    >>> suppress(frame)["n"].tolist()  # B is masked too, else A = 300 - 100 - 194
    [300, <NA>, <NA>, 194]
    """
    if not {"n", "n_events"} <= set(frame.columns):
        return frame.copy()
    suppress_below = check_suppress_below(suppress_below)
    out = frame.copy()
    small = np.zeros(len(out), dtype=bool)
    small_n = np.zeros(len(out), dtype=bool)
    for rows in _blocks(out).values():
        block = out.iloc[rows]
        mask, mask_n = _block_masks(block, suppress_below)
        small[rows], small_n[rows] = mask, mask_n
    out.loc[small, [c for c in ESTIMATES if c in out.columns]] = np.nan
    out["n_events"] = pd.array(out["n_events"], dtype="Int64")
    out["n"] = pd.array(out["n"], dtype="Int64")
    out.loc[small, "n_events"] = pd.NA
    out.loc[small_n, "n"] = pd.NA
    return _suppress_confusion(out, small, suppress_below)


def suppress_parts(n, n_events, suppress_below=SUPPRESS_BELOW):
    """Return the parts of a released total (bins of a group) that must be masked.

    The parts add up to the total, whose ``n`` and ``n_events`` are released;
    :func:`suppress` decides, with its complementary suppression, which parts
    may be shown. The masked parts together are a count too (the total minus
    the shown parts): while their patients, events or non-events add up to 1 to
    ``suppress_below - 1``, the smallest shown part is masked as well.

    Parameters
    ----------
    n, n_events : array-like of shape (n_parts,)
        Patients and events of each part (the total is their sum); NaN events
        for counts of patients only (a histogram's bars).
    suppress_below : int, default=11
        Smallest count that may be released.

    Returns
    -------
    masked : ndarray of bool of shape (n_parts,)
        Parts whose estimates (and counts) may not be shown; all of them when
        the total itself would have to be masked.

    Examples
    --------
    >>> from healthbalance._small_counts import suppress_parts
    >>> suppress_parts([46, 45, 14, 51], [1, 10, 6, 20]).tolist()
    [True, True, True, False]
    """
    n, n_events = np.asarray(n, dtype=float), np.asarray(n_events, dtype=float)
    frame = pd.DataFrame(
        {
            "attribute": [OVERALL] + ["part"] * n.size,
            "group": [OVERALL] + [str(i) for i in range(n.size)],
            "n": np.concatenate([[n.sum()], n]),
            "n_events": np.concatenate([[n_events.sum()], n_events]),
            "estimate": 0.0,
        }
    )
    masked = suppress(frame, suppress_below)["estimate"].isna().to_numpy()
    masked = masked[1:] | masked[0]
    counts = np.column_stack([n, n_events, n - n_events])
    while (~masked).any():
        hidden = counts[masked].sum(axis=0)
        if not ((hidden >= 1) & (hidden < suppress_below)).any():
            break
        shown = np.flatnonzero(~masked)
        masked[shown[np.argmin(n[shown])]] = True
    return masked


def _suppress_confusion(out, small, suppress_below):
    """Mask the confusion metrics of groups with a small TP, FP, FN or TN."""
    if SMALLEST_CONFUSION not in out.columns:
        return out
    counts = pd.array(out[SMALLEST_CONFUSION], dtype="Int64")
    rows = ~np.asarray(counts.isna(), dtype=bool)  # the confusion metrics' rows
    few = rows & np.asarray(((counts >= 1) & (counts < suppress_below)).fillna(False))
    hidden = np.zeros(len(out), dtype=bool)
    for block in _blocks(out).values():
        group_hidden = few[block] | small[block]
        hidden[block] = _confusion_complement(out.iloc[block], group_hidden)
    hidden &= rows
    out.loc[hidden, [c for c in ESTIMATES if c in out.columns]] = np.nan
    if "reason" in out.columns:
        _add_reason(out, few, f"fewer than {suppress_below} {_CONFUSION}")
        _add_reason(
            out,
            hidden & ~few & ~small,
            f"would reveal another group's {_CONFUSION} by subtraction",
        )
    out[SMALLEST_CONFUSION] = counts
    out.loc[few | small | hidden, SMALLEST_CONFUSION] = pd.NA
    return out


_CONFUSION = "true/false positives/negatives at the threshold"


def _add_reason(out, rows, text):
    """Append ``masked: text`` to the reason of ``rows``."""
    out.loc[rows, "reason"] = [
        f"{r}; masked: {text}" if isinstance(r, str) and r else f"masked: {text}"
        for r in out.loc[rows, "reason"]
    ]


def _blocks(frame):
    """Positions of the rows of each table (one seed, model, strategy and threshold)."""
    blocks = [c for c in BLOCKS if c in frame.columns]
    if not blocks:
        return {(): np.arange(len(frame))}
    return frame.groupby(blocks, sort=False).indices


def _confusion_complement(block, hidden):
    """Rows whose confusion metrics are masked, so that no partition has one.

    A total's TP, FP, FN and TN are the sums of its parts': while a partition (the
    total and its parts) has exactly one group with masked confusion metrics, its
    counts are a difference of released ones, and the smallest released group
    next to it is masked as well.
    """
    keys = list(zip(block["attribute"], block["group"], strict=True))
    groups = list(dict.fromkeys(keys))
    where = {key: i for i, key in enumerate(groups)}
    index = np.array([where[key] for key in keys], dtype=np.intp)
    masked = np.zeros(len(groups), dtype=bool)
    np.logical_or.at(masked, index, hidden)
    n = pd.to_numeric(block["n"], errors="coerce").to_numpy(dtype=float)
    sizes = np.zeros(len(groups))
    sizes[index] = np.nan_to_num(n, nan=np.inf)
    partitions, _ = partitions_of(groups)
    while True:
        alone = [
            g
            for parent, children in partitions
            for g in [parent, *children]
            if masked[g] and masked[[parent, *children]].sum() == 1
        ]
        if not alone:
            return masked[index]
        j = _next_to_mask(alone[0], partitions, masked, masked, sizes)
        if masked[j]:  # nothing is left to mask
            masked[:] = True
        masked[j] = True


def _block_masks(block, suppress_below):
    """Masks of the rows of one table (one seed, model, strategy and threshold)."""
    keys = list(zip(block["attribute"], block["group"], strict=True))
    groups = list(dict.fromkeys(keys))
    first = block.assign(_key=keys).drop_duplicates("_key")
    n = first["n"].to_numpy(dtype=float)
    events = first["n_events"].to_numpy(dtype=float)
    small, small_n = _complementary(groups, n, events, suppress_below)
    where = {key: i for i, key in enumerate(groups)}
    index = np.array([where[key] for key in keys], dtype=np.intp)
    return small[index], small_n[index]


def _complementary(groups, n, events, suppress_below):
    """Masks of each group after complementary suppression."""
    small, small_n = suppression_mask(n, events, suppress_below)
    partitions, hidden = partitions_of(groups)
    small[hidden], small_n[hidden] = True, True
    values = np.column_stack([n, events, n - events])
    system = _System(partitions, values)
    while True:
        exposed = system.exposed(small_n, small, suppress_below)
        if exposed is None:
            return small, small_n
        j = _next_to_mask(exposed, partitions, small, small_n, n)
        if small[j] and small_n[j]:  # nothing is left to mask
            small[:], small_n[:] = True, True
        small[j], small_n[j] = True, True


def _next_to_mask(g, partitions, small, small_n, n):
    """Return the smallest released group next to ``g``: sibling, part, total."""
    shown = ~(small & small_n)
    tiers = (
        [c for parent, children in partitions if g in children for c in children],
        [c for parent, children in partitions if parent == g for c in children],
        [parent for parent, children in partitions if g in children],
        list(range(n.size)),
    )
    for tier in tiers:
        candidates = [c for c in tier if c != g and shown[c]]
        if candidates:
            return min(candidates, key=lambda c: (n[c], c))
    return g


class _System:
    """The sums that released counts obey, and what an attacker can solve from them.

    The unknowns are, per group, ``n``, events and non-events (columns ``3 g``,
    ``3 g + 1``, ``3 g + 2``), all non-negative integers; the equations are
    ``n = events + non-events`` per group and ``total = sum of parts`` for each count
    of each partition. A total may exceed the sum of its parts (rows without a value
    of the attribute): the attacker is assumed to know the difference. A count is
    exposed when every solution gives it its true value (checked with integer
    programs: non-negativity pins counts that no subtraction alone reveals, such as
    the parts of a total of zero).
    """

    def __init__(self, partitions, values):
        n_groups = len(values)
        rows = []
        for g in range(n_groups):
            rows.append({3 * g: 1.0, 3 * g + 1: -1.0, 3 * g + 2: -1.0})
        for parent, children in partitions:
            for k in range(3):
                row = {3 * parent + k: 1.0}
                row.update({3 * c + k: -1.0 for c in children})
                rows.append(row)
        matrix = np.zeros((len(rows), 3 * n_groups))
        for i, row in enumerate(rows):
            matrix[i, list(row)] = list(row.values())
        values = values.ravel()
        known = np.isfinite(values)
        # an equation over a count missing from the frame tells nothing
        self.matrix = matrix[~(matrix[:, ~known] != 0).any(axis=1)]
        self.values = np.where(known, values, 0.0)

    def exposed(self, small_n, small, suppress_below):
        """Return a group with a masked count in 1..threshold - 1 that can be solved."""
        hidden = np.column_stack([small_n, small, small]).ravel()
        values = self.values
        at_risk = hidden & (values >= 1) & (values < suppress_below)
        if not at_risk.any():
            return None
        unknown = self.matrix[:, hidden]
        unknown = unknown[(unknown != 0).any(axis=1)]
        truth = values[hidden]
        rhs = unknown @ truth  # what the released counts and the sums imply
        free = np.zeros(truth.size, dtype=bool)  # seen to take another value
        for i in np.flatnonzero(at_risk[hidden]):
            if not free[i]:
                solutions = _extremes(i, unknown, rhs)
                free |= (np.abs(solutions - truth) > 0.5).any(axis=0)
                if not free[i]:
                    return np.flatnonzero(hidden)[i] // 3
        return None


def _extremes(i, matrix, rhs):
    """Solutions of ``matrix @ x = rhs`` with the largest, then the smallest ``x[i]``.

    ``x`` is a vector of non-negative integers; the second solution is skipped when
    the first already shows another value.
    """
    constraints = LinearConstraint(matrix, rhs, rhs) if len(rhs) else ()
    unit = np.zeros(matrix.shape[1])
    unit[i] = 1.0
    solutions = []
    for sign in (-1.0, 1.0):
        result = milp(sign * unit, integrality=1, constraints=constraints)
        if result.status != 0:  # unbounded: x[i] can take any larger value
            solutions.append(np.full(unit.size, np.inf))
            break
        solutions.append(result.x)
        if abs(result.x[i] - solutions[0][i]) > 0.5:
            break
    return np.array(solutions)


def partitions_of(groups):
    """Return the sums between reported groups, read from their attributes and labels.

    Parameters
    ----------
    groups : list of (attribute, group) pairs
        The reported groups (``("overall", "overall")`` for all rows; an intersection
        attribute is its attributes' names joined by ``" & "``).

    Returns
    -------
    partitions : list of (int, list of int)
        ``(total, parts)``: the counts of group ``total`` are the sums of those of
        ``parts`` (positions in ``groups``).
    hidden : list of int
        Intersections whose label cannot be read unambiguously as one group per
        attribute: masked whole, since their sums are unknown.

    Examples
    --------
    >>> from healthbalance._small_counts import partitions_of
    >>> partitions_of([("overall", "overall"), ("sex", "F"), ("sex", "M")])
    ([(0, [1, 2])], [])
    """
    by_attribute = {}
    for i, (attribute, _) in enumerate(groups):
        by_attribute.setdefault(attribute, []).append(i)
    partitions, hidden = [], []
    total = by_attribute.get(OVERALL, [None])[0]
    for attribute, members in by_attribute.items():
        if attribute == OVERALL:
            continue
        if total is not None:
            partitions.append((total, members))
        names = str(attribute).split(INTERSECTION_SEP)
        if len(names) > 1 and all(a in by_attribute for a in names):
            found, unread = _intersection_parts(groups, by_attribute, names, members)
            partitions += found
            hidden += unread
    return partitions, hidden


def _intersection_parts(groups, by_attribute, names, members):
    """Each attribute group -> the intersections it contains."""
    labels = [{groups[i][1]: i for i in by_attribute[a]} for a in names]
    parts, unread = {}, []
    for i in members:
        readings = _readings(groups[i][1], labels)
        if len(readings) != 1:
            unread.append(i)
            continue
        for parent in readings[0]:
            parts.setdefault(parent, []).append(i)
    return list(parts.items()), unread


def _readings(label, labels):
    """Every way of reading ``label`` as one label per attribute, joined."""
    if len(labels) == 1:
        return [[labels[0][label]]] if label in labels[0] else []
    found = []
    for head, position in labels[0].items():
        prefix = head + INTERSECTION_SEP
        if label.startswith(prefix):
            rest = _readings(label[len(prefix) :], labels[1:])
            found += [[position, *tail] for tail in rest]
    return found
