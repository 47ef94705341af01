"""The shared file of a federated evaluation: one JSON document, checked on reading.

Layout (``"schema": "healthbalance.group_statistics/1"``)::

    {"schema": ..., "attributes": ["race", "sex"], "threshold": 0.5, "n_bins": 10,
     "min_count": 11, "bin_edges": [0.0, ..., 1.0],
     "sites": [{"site": "A", "n": 3012, "n_events": 330,
                "groups": [{"labels": ["White", "F"], "n": 901, "n_events": 98}],
                "withheld": [["Asian", "M"]],
                "cells": [{"labels": ["White", "F"], "outcome": 1, "bins": [95, 101],
                           "n": 12, "score": 3.1, "logit": -12.4,
                           "squared_error": 6.0, "log_loss": 15.2}]}]}

Reading never evaluates anything (``json`` only); every size the file declares is
capped (:data:`LIMITS`) before anything is allocated from it, and every problem
(deep nesting included) is a ``ValueError`` naming the file, the problem and the fix.
"""

import json
import math
import numbers
from pathlib import Path

import numpy as np
import pandas as pd

from healthbalance.metrics._count_batch import ROW_STATISTICS
from healthbalance.metrics._federated import check_bin_edges

__all__ = ["LIMITS", "SCHEMA", "read_statistics", "write_statistics"]

SCHEMA = "healthbalance.group_statistics/1"
_TOP = (
    "schema",
    "attributes",
    "threshold",
    "n_bins",
    "min_count",
    "bin_edges",
    "sites",
)
_SITE = ("site", "n", "n_events", "groups", "withheld", "cells")
_GROUP = ("labels", "n", "n_events")
_SUMS = ("score", "logit", "squared_error", "log_loss")
_CELL = ("labels", "outcome", "bins", "n", *_SUMS)
_FIX = "re-export it with healthbalance export-statistics (or export_statistics)"


def write_statistics(statistics, path):
    """Write ``statistics`` (a GroupStatistics) to ``path`` as JSON."""
    document = {
        "schema": SCHEMA,
        "attributes": statistics.attributes,
        "threshold": float(statistics.threshold),
        "n_bins": int(statistics.n_bins),
        "min_count": int(statistics.min_count),
        "bin_edges": [float(e) for e in statistics.bin_edges],
        "sites": [
            _site_document(statistics, site, info)
            for site, info in statistics.sites.items()
        ],
    }
    Path(path).write_text(_dump(document), encoding="utf-8")


def _dump(document):
    """JSON text with one line per key, group, withheld group and cell."""
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in document.items()]
    sites = []
    for site in document["sites"]:
        head = [f"    {json.dumps(k)}: {json.dumps(site[k])}" for k in _SITE[:3]]
        lists = [
            f"    {json.dumps(k)}: [\n"
            + ",\n".join(f"     {json.dumps(item)}" for item in site[k])
            + "\n    ]"
            for k in _SITE[3:]
        ]
        sites.append("   {\n" + ",\n".join(head + lists) + "\n   }")
    lines[-1] = '  "sites": [\n' + ",\n".join(sites) + "\n  ]"
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _site_document(statistics, site, info):
    cells = statistics.cells[statistics.cells["site"] == site]
    attributes = statistics.attributes
    groups = []
    for labels, group in cells.groupby(attributes, sort=True):
        labels = list(labels) if isinstance(labels, tuple) else [labels]
        n = int(group["n"].sum())
        groups.append(
            {"labels": labels, "n": n, "n_events": int(group["n"] @ group["outcome"])}
        )
    columns = [cells[c].tolist() for c in (*attributes, *_CELL[1:2], "bin_low",
                                            "bin_high", "n", *_SUMS)]  # fmt: skip
    k = len(attributes)
    records = [
        {
            "labels": [str(v) for v in row[:k]],
            "outcome": int(row[k]),
            "bins": [int(row[k + 1]), int(row[k + 2])],
            "n": int(row[k + 3]),
            **{stat: float(v) for stat, v in zip(_SUMS, row[k + 4 :], strict=True)},
        }
        for row in zip(*columns, strict=True)
    ]
    return {
        "site": site,
        "n": info["n"],
        "n_events": info["n_events"],
        "groups": groups,
        "withheld": [list(g) for g in info["withheld"]],
        "cells": records,
    }


class _Reader:
    """Checks of one file, raising ``ValueError`` naming it."""

    def __init__(self, path):
        self.path = str(path)

    def fail(self, problem, fix=_FIX):
        raise ValueError(f"{self.path}: {problem}; {fix}.")

    def keys(self, obj, expected, where):
        if not isinstance(obj, dict):
            self.fail(f"{where} must be a JSON object, got {type(obj).__name__}")
        unknown = sorted(set(obj) - set(expected))
        missing = [k for k in expected if k not in obj]
        if unknown:
            self.fail(
                f"{where} has unknown keys {unknown} (expected {list(expected)})",
                "remove them: the file may hold only what the schema lists",
            )
        if missing:
            self.fail(f"{where} lacks the keys {missing}")

    def count(self, value, where, *, none=False):
        if value is None and none:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(f"{where} must be a non-negative integer, got {value!r}")
        return value

    def labels(self, value, n_attributes, where):
        if (
            not isinstance(value, list)
            or len(value) != n_attributes
            or not all(isinstance(v, str) for v in value)
        ):
            self.fail(
                f"{where} must be a list of {n_attributes} strings (one label per "
                f"attribute), got {value!r}"
            )
        return tuple(value)


def read_statistics(path):
    """Read and check a statistics file; return GroupStatistics' arguments."""
    reader = _Reader(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reader.fail(f"cannot be read ({error})", "pass the path of a site's file")
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:  # RecursionError: deep nesting
        reader.fail(f"is not valid JSON ({type(error).__name__}: {error})")
    reader.keys(document, _TOP, "the file")
    _check_sizes(reader, document)
    if document["schema"] != SCHEMA:
        reader.fail(
            f"has schema {document['schema']!r}, this version reads {SCHEMA!r}",
            "export it again with this version of healthbalance",
        )
    attributes = document["attributes"]
    if (
        not isinstance(attributes, list)
        or not attributes
        or not all(isinstance(a, str) and a and a != "site" for a in attributes)
        or len(set(attributes)) < len(attributes)
    ):
        reader.fail(
            f"attributes must be distinct names (not 'site'), got {attributes!r}"
        )
    edges = _edges(reader, document)
    min_count = reader.count(document["min_count"], "min_count")
    sites = document["sites"]
    if not isinstance(sites, list) or not sites:
        reader.fail("sites must be a non-empty list")
    cut = 2 * int(np.argmin(np.abs(edges - document["threshold"]))) + 1
    frames, infos = [], {}
    for k, site in enumerate(sites):
        name, frame, info = _site(reader, site, k, attributes, edges, min_count, cut)
        if name in infos:
            reader.fail(f"site {name!r} appears twice")
        frames.append(frame)
        infos[name] = info
    return {
        "cells": pd.concat(frames, ignore_index=True),
        "sites": infos,
        "attributes": attributes,
        "bin_edges": edges,
        "threshold": document["threshold"],
        "n_bins": document["n_bins"],
        "min_count": min_count,
    }


# Largest sizes a file may declare, checked before anything is allocated from them
# (a hostile "n_bins": 1000000000 would otherwise ask for gigabytes).
LIMITS = {
    "n_bins": 1_000,
    "bin_edges": 100_000,
    "attributes": 16,
    "sites": 1_000,
    "groups": 100_000,
    "withheld": 100_000,
    "cells": 1_000_000,
    "label": 200,
}


def _check_sizes(reader, document):
    """Raise when a size in the file exceeds :data:`LIMITS`."""
    sized = {
        "bin_edges": document["bin_edges"],
        "attributes": document["attributes"],
        "sites": document["sites"],
    }
    n_bins = document["n_bins"]
    if isinstance(n_bins, int) and n_bins > LIMITS["n_bins"]:
        _too_big(reader, "n_bins", n_bins)
    for field, value in sized.items():
        if isinstance(value, list) and len(value) > LIMITS[field]:
            _too_big(reader, field, len(value))
    labels = [a for a in sized["attributes"] if isinstance(a, str)]
    sites = sized["sites"] if isinstance(sized["sites"], list) else []
    for site in (s for s in sites if isinstance(s, dict)):
        if isinstance(site.get("site"), str):
            labels.append(site["site"])
        for field in ("groups", "withheld", "cells"):
            items = site.get(field)
            if isinstance(items, list) and len(items) > LIMITS[field]:
                _too_big(reader, f"a site's {field}", len(items), LIMITS[field])
            for item in items if isinstance(items, list) else []:
                found = item.get("labels") if isinstance(item, dict) else item
                if isinstance(found, list):
                    labels += [v for v in found if isinstance(v, str)]
    longest = max(map(len, labels), default=0)
    if longest > LIMITS["label"]:
        _too_big(reader, "a label or name", longest, LIMITS["label"])


def _too_big(reader, field, size, limit=None):
    limit = LIMITS[field] if limit is None else limit
    reader.fail(
        f"{field} is {size}, above the limit of {limit}",
        "a site's file never needs that many: check where it came from",
    )


def _no_constant(name):
    raise ValueError(f"{name} is not a number")


def _edges(reader, document):
    threshold, n_bins = document["threshold"], document["n_bins"]
    if isinstance(threshold, bool) or isinstance(n_bins, bool):
        reader.fail("threshold and n_bins must be numbers")
    try:
        return check_bin_edges(document["bin_edges"], threshold, n_bins)
    except ValueError as error:
        reader.fail(str(error), "use the bin edges every site agreed on")


def _site(reader, site, k, attributes, edges, min_count, cut):
    """Check one site's entry; return its name, cells frame and info."""
    reader.keys(site, _SITE, f"sites[{k}]")
    name = site["site"]
    if not isinstance(name, str) or not name:
        reader.fail(f"sites[{k}].site must be a non-empty string, got {name!r}")
    where = f"site {name!r}"
    n = reader.count(site["n"], f"{where}: n", none=True)
    events = reader.count(site["n_events"], f"{where}: n_events", none=True)
    if n is not None and events is not None and events > n:
        reader.fail(f"{where} has more events than patients")
    totals = _totals(reader, site["groups"], where, len(attributes), min_count)
    withheld = site["withheld"]
    if not isinstance(withheld, list):
        reader.fail(f"{where}: withheld must be a list of label lists")
    withheld = [
        reader.labels(g, len(attributes), f"{where}: withheld") for g in withheld
    ]
    both = set(withheld) & set(totals)
    if both:
        reader.fail(f"{where} lists {sorted(both)} both as released and withheld")
    frame = _cells(reader, site["cells"], where, attributes, edges, min_count, cut)
    _check_totals(reader, frame, totals, where, attributes)
    released = sum(t[0] for t in totals.values())
    if n is not None and released > n:
        reader.fail(f"{where}: its groups hold more patients than its total n")
    frame.insert(0, "site", name)
    return name, frame, {"n": n, "n_events": events, "withheld": withheld}


def _totals(reader, groups, where, n_attributes, min_count):
    if not isinstance(groups, list):
        reader.fail(f"{where}: groups must be a list")
    totals = {}
    for group in groups:
        reader.keys(group, _GROUP, f"{where}: a group")
        labels = reader.labels(group["labels"], n_attributes, f"{where}: a group")
        n = reader.count(group["n"], f"{where}: group {list(labels)} n")
        events = reader.count(
            group["n_events"], f"{where}: group {list(labels)} n_events"
        )
        if events > n:
            reader.fail(f"{where}: group {list(labels)} has more events than patients")
        if any(0 < c < min_count for c in (n, events, n - events)):
            reader.fail(
                f"{where}: group {list(labels)} releases a count below its "
                f"min_count {min_count}",
                "withhold the group (export_statistics does) before sharing",
            )
        if labels in totals:
            reader.fail(f"{where}: group {list(labels)} is listed twice")
        totals[labels] = (n, events)
    return totals


def _cells(reader, cells, where, attributes, edges, min_count, cut):
    """Check the cells of one site; return them as a frame."""
    if not isinstance(cells, list):
        reader.fail(f"{where}: cells must be a list")
    top = 2 * edges.size
    rows = []
    for i, cell in enumerate(cells):
        at = f"{where}: cells[{i}]"
        reader.keys(cell, _CELL, at)
        labels = reader.labels(cell["labels"], len(attributes), at)
        if cell["outcome"] not in (0, 1) or isinstance(cell["outcome"], bool):
            reader.fail(f"{at}: outcome must be 0 or 1, got {cell['outcome']!r}")
        bins = cell["bins"]
        if not (isinstance(bins, list) and len(bins) == 2):
            reader.fail(f"{at}: bins must be [first, last], got {bins!r}")
        low = reader.count(bins[0], f"{at}: bins[0]")
        high = reader.count(bins[1], f"{at}: bins[1]")
        if not low <= high <= top:
            reader.fail(f"{at}: bins {bins} are not a range of bins 0..{top}")
        if low < cut <= high:
            reader.fail(
                f"{at}: bins {bins} straddle the threshold's bin {cut} (a cell's "
                "sums would reveal how many of its patients lie above it)",
                "withhold the group (export_statistics does)",
            )
        n = reader.count(cell["n"], f"{at}: n")
        if n == 0 or n < min_count:
            reader.fail(
                f"{at}: n must be at least {max(min_count, 1)} (the file's "
                "min_count), got a smaller count",
                "merge bins or withhold the group (export_statistics does)",
            )
        sums = [cell[s] for s in _SUMS]
        if not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
            for v in sums
        ):
            reader.fail(f"{at}: the sums {list(_SUMS)} must be finite numbers")
        _check_sums(reader, at, n, cell["outcome"], (low, high), sums, edges)
        rows.append((*labels, cell["outcome"], low, high, n, *map(float, sums)))
    columns = [*attributes, "outcome", "bin_low", "bin_high", "n", *_SUMS]
    frame = pd.DataFrame.from_records(rows, columns=columns)
    return frame.astype(
        {
            "outcome": np.int64,
            "bin_low": np.int64,
            "bin_high": np.int64,
            "n": np.int64,
            **dict.fromkeys(_SUMS, np.float64),
        }
    )


def _check_sums(reader, at, n, outcome, bins, sums, edges):
    """Raise unless a cell's sums are possible for ``n`` scores in its bins.

    Each per-row statistic (:data:`ROW_STATISTICS`, with the library's clipping)
    is monotone in the score for a given outcome, so ``n`` scores in
    ``[lower, upper]`` give a sum between ``n`` times its values at the two ends.
    """
    low, high = bins
    last = edges.size - 1
    lower = edges[min(low // 2, last)] if low % 2 else edges[max(low // 2 - 1, 0)]
    upper = edges[min(high // 2, last)]
    bounds = (lower, upper)
    for stat, value in zip(_SUMS, sums, strict=True):
        ends = [float(ROW_STATISTICS[stat](np.float64(e), outcome)) for e in bounds]
        slack = 1e-9 * n * max(1.0, *map(abs, ends))
        if not n * min(ends) - slack <= value <= n * max(ends) + slack:
            reader.fail(
                f"{at}: {stat} sum {value:g} is impossible for {n} patients with "
                f"outcome {outcome} and scores in [{lower:g}, {upper:g}] (outside "
                f"[{n * min(ends):g}, {n * max(ends):g}])"
            )


def _check_totals(reader, frame, totals, where, attributes):
    seen = set()
    for labels, group in frame.groupby(attributes, sort=False):
        labels = labels if isinstance(labels, tuple) else (labels,)
        seen.add(labels)
        if labels not in totals:
            reader.fail(
                f"{where}: cells of group {list(labels)} are missing from its "
                "groups (the totals)",
            )
        found = (int(group["n"].sum()), int(group["n"] @ group["outcome"]))
        if found != totals[labels]:
            reader.fail(
                f"{where}: group {list(labels)}'s cells do not add up to its "
                "totals n and n_events"
            )
        _check_disjoint(reader, group, where, labels)
    empty = sorted(set(totals) - seen)
    if empty:
        reader.fail(f"{where}: groups {empty[:3]} have totals but no cells")


def _check_disjoint(reader, group, where, labels):
    for _, part in group.groupby("outcome"):
        part = part.sort_values("bin_low")
        if (part["bin_low"].to_numpy()[1:] <= part["bin_high"].to_numpy()[:-1]).any():
            reader.fail(
                f"{where}: group {list(labels)} has cells with overlapping bins"
            )
