"""Command line of a federated evaluation: ``export-statistics`` and ``report``.

``healthbalance export-statistics`` runs at a site, on its rows, and writes the
file its privacy officer reads and releases; ``healthbalance report`` runs at the
coordinator, on the sites' files, and writes the combined HTML report (small
counts masked, as every export of the library).
"""

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from healthbalance._small_counts import SUPPRESS_BELOW
from healthbalance.metrics import (
    GroupStatistics,
    combine_statistics,
    export_statistics,
    make_bin_edges,
)

__all__ = ["COMMANDS", "CommandError", "add_parsers", "run"]

COMMANDS = ("export-statistics", "report")


class CommandError(Exception):
    """A wrong file, column or option: one line, exit status 2."""


def add_parsers(commands, formatter):
    """Add the two subcommands to the ``healthbalance`` parser's ``commands``."""
    export = commands.add_parser(
        "export-statistics",
        help="reduce a site's rows to the statistics it may share (JSON)",
        description="Reduce one site's rows to per-group cells on agreed bin "
        "edges, apply the small-count policy, and write the JSON file to release.",
        formatter_class=formatter,
    )
    export.add_argument("--data", type=Path, required=True, metavar="FILE",
                        help="the site's rows (.csv or .parquet)")  # fmt: skip
    export.add_argument("--score-column", required=True, metavar="COLUMN")
    export.add_argument("--outcome-column", required=True, metavar="COLUMN")
    export.add_argument("--sensitive-columns", required=True, nargs="+",
                        metavar="COLUMN")  # fmt: skip
    export.add_argument("--site", required=True, metavar="NAME")
    export.add_argument("--bin-edges", default="default", metavar="FILE|default",
                        help="JSON list of the edges every site agreed on, or "
                        "'default' for make_bin_edges() (default)")  # fmt: skip
    export.add_argument("--threshold", type=float, default=0.5)
    export.add_argument("--n-bins", type=int, default=10, metavar="N")
    export.add_argument("--min-count", type=int, default=SUPPRESS_BELOW, metavar="N",
                        help="smallest non-zero count released; 0 for a trusted "
                        "coordinator (default: %(default)s)")  # fmt: skip
    export.add_argument("--pos-label", default=None, metavar="LABEL")
    export.add_argument("--out", type=Path, required=True, metavar="FILE")
    report = commands.add_parser(
        "report",
        help="combine sites' statistics files into one HTML report",
        description="Combine the sites' files and write the per-group report "
        "(bootstrap within site x group), small counts masked.",
        formatter_class=formatter,
    )
    report.add_argument("files", type=Path, nargs="+", metavar="FILE")
    report.add_argument("--out", type=Path, default=Path("report.html"),
                        metavar="FILE")  # fmt: skip
    report.add_argument("--n-bootstrap", type=int, default=1000, metavar="N")
    report.add_argument("--seed", type=int, default=0)
    report.add_argument("--by-site", action="store_true",
                        help="add every site and site x group")  # fmt: skip


def run(args):
    """Run ``args.command``; wrong input raises :class:`CommandError`."""
    try:
        if args.command == "export-statistics":
            _export(args)
        else:
            _report(args)
    except ValueError as error:
        raise CommandError(str(error)) from error


def _export(args):
    if not args.data.is_file():
        raise CommandError(f"--data {args.data}: no such file.")
    reader = pd.read_parquet if args.data.suffix == ".parquet" else pd.read_csv
    frame = reader(args.data)
    columns = [str(c) for c in frame.columns]
    named = [args.score_column, args.outcome_column, *args.sensitive_columns]
    missing = [c for c in named if c not in columns]
    if missing:
        raise CommandError(
            f"{args.data} has no column {', '.join(missing)}; its columns are "
            f"{', '.join(columns)}."
        )
    statistics = export_statistics(
        frame[args.outcome_column],
        frame[args.score_column],
        sensitive_features=frame[args.sensitive_columns],
        bin_edges=_bin_edges(args),
        site=args.site,
        threshold=args.threshold,
        n_bins=args.n_bins,
        min_count=args.min_count,
        pos_label=args.pos_label,
    )
    statistics.to_file(args.out)


def _bin_edges(args):
    if args.bin_edges == "default":
        return make_bin_edges(threshold=args.threshold, n_bins=args.n_bins)
    path = Path(args.bin_edges)
    try:
        edges = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CommandError(
            f"--bin-edges {path}: not a readable JSON list of numbers ({error}); "
            "write one with json.dump(make_bin_edges().tolist(), file)."
        ) from error
    return np.asarray(edges, dtype=float) if isinstance(edges, list) else None


def _report(args):
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        raise CommandError(f"no such file: {', '.join(missing)}.")
    statistics = [GroupStatistics.from_file(f) for f in args.files]
    try:
        combined = combine_statistics(statistics)
    except ValueError as error:
        names = ", ".join(str(f) for f in args.files)
        raise CommandError(f"{names}: {error}") from error
    method = combined.report_by_site if args.by_site else combined.report
    report = method(n_bootstrap=args.n_bootstrap, random_state=args.seed)
    args.out.write_text(report_page(combined, report), encoding="utf-8")


def report_page(statistics, report):
    """Return the combined report as an HTML page, small counts masked."""
    frame = report.to_frame(suppress_below=SUPPRESS_BELOW)
    values = [
        _value(m, e) + _interval(lo, hi)
        for m, e, lo, hi in zip(
            frame.metric, frame.estimate, frame.ci_low, frame.ci_high, strict=True
        )
    ]
    table = frame.assign(value=values).pivot_table(
        index=["attribute", "group"], columns="metric", values="value",
        aggfunc="first", sort=False,
    )[report.metrics]  # fmt: skip
    bound = report.binning_bound.set_index(["attribute", "group"])
    notes = frame.groupby(["attribute", "group"], sort=False)["reason"].first()
    table["roc_auc error bound"] = bound["roc_auc"].map("{:.4f}".format)
    table["notes"] = notes
    sites = ", ".join(html.escape(str(s)) for s in statistics.sites)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<title>healthbalance federated report</title></head><body>"
        f"<h1>Evaluation across sites: {sites}</h1>"
        f"<p>{report.n_bootstrap} bootstrap replicates within site x group, "
        f"{report.confidence_level:.0%} intervals; counts below {SUPPRESS_BELOW} "
        "and what reveals them are masked.</p>"
        "<h2>What the sites withheld</h2>"
        f"{statistics.disclosure().to_html(index=False, escape=True)}"
        "<h2>Metrics per group</h2>"
        f"{table.to_html(escape=True)}</body></html>\n"
    )


def _value(metric, estimate):
    if pd.isna(estimate):
        return "n/a"
    return f"{estimate:.0f}" if metric in ("n", "n_events") else f"{estimate:.3f}"


def _interval(low, high):
    return "" if pd.isna(low) else f" [{low:.3f}, {high:.3f}]"
