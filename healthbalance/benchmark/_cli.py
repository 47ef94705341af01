"""Command line: ``healthbalance benchmark`` (or ``python -m healthbalance ...``).

A wrong file, column or attribute name ends the command with one line on stderr
naming the valid choices and exit status 2, as argparse does for a wrong option;
tracebacks are kept for real failures.
"""

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from healthbalance import __version__
from healthbalance._sensitive import normalise_label
from healthbalance._small_counts import SUPPRESS_BELOW
from healthbalance.benchmark import _federated_cli as federated
from healthbalance.benchmark import _run_cache as run_cache
from healthbalance.benchmark._bottom_line import bottom_line
from healthbalance.benchmark._checks import released, run_checks, summary_table
from healthbalance.benchmark._cluster import connect, on_cluster
from healthbalance.benchmark._html import write_html_report
from healthbalance.benchmark._leakage import LEAKY_AUROC, LeakageError
from healthbalance.benchmark._models import BASE_MODELS
from healthbalance.benchmark._reference import (
    CENSUS_US,
    US_CENSUS_2020,
    check_groups,
    reference_population,
)
from healthbalance.benchmark._run import run_benchmark
from healthbalance.benchmark._strategies import STRATEGIES

__all__ = ["US_CENSUS_2020", "build_parser", "main"]

DESCRIPTION = (
    "Compare training strategies for imbalanced, subgroup-sensitive health data "
    "side by side: per-group metrics with confidence intervals, paired differences "
    "against plain training, and an HTML report."
)


class UsageError(Exception):
    """A wrong file, column or attribute name: one line, exit status 2."""


class _Formatter(argparse.HelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=32, width=88)


def build_parser():
    """Return the argument parser of the ``healthbalance`` command."""
    parser = argparse.ArgumentParser(
        prog="healthbalance", description=DESCRIPTION, formatter_class=_Formatter
    )
    parser.add_argument(
        "--version", action="version", version=f"healthbalance {__version__}"
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", title="commands"
    )
    bench = commands.add_parser(
        "benchmark",
        help="compare training strategies per group, with paired confidence intervals",
        description=DESCRIPTION,
        formatter_class=_Formatter,
    )
    _data_options(bench.add_argument_group("data (the synthetic cohort by default)"))
    _protocol_options(bench.add_argument_group("protocol"))
    _cluster_options(
        bench.add_argument_group(
            "cluster (needs Dask: pip install 'healthbalance[dask]')"
        )
    )
    _output_options(bench.add_argument_group("output"))
    federated.add_parsers(commands, _Formatter)
    return parser


def _data_options(data):
    data.add_argument(
        "--dataset",
        choices=["synthetic-icu"],
        default="synthetic-icu",
        metavar="NAME",
        help="built-in data set, used without --data or --mimic-iv: synthetic-icu, "
        "the simulated ICU cohort (default: synthetic-icu)",
    )
    data.add_argument(
        "--data",
        type=Path,
        metavar="FILE",
        help="CSV or Parquet file, one row per patient; needs --target and "
        "--sensitive (default: none)",
    )
    data.add_argument(
        "--mimic-iv",
        type=Path,
        metavar="DIR",
        help="root folder of a local MIMIC-IV copy (default: none)",
    )
    data.add_argument(
        "--target",
        metavar="COLUMN",
        help="outcome column of --data, 0/1 or two labels (required with --data)",
    )
    data.add_argument(
        "--pos-label",
        metavar="LABEL",
        help="value of --target that means the event (default: 1)",
    )
    data.add_argument(
        "--sensitive",
        nargs="+",
        metavar="COLUMN",
        help="sensitive attribute columns of --data; reported per group, never used "
        "as features (required with --data)",
    )
    data.add_argument(
        "--n-samples",
        type=int,
        metavar="N",
        help="size of the synthetic cohort (default: 20000 with --quick, else 50000)",
    )
    data.add_argument(
        "--exclude",
        nargs="+",
        default=[],
        metavar="COLUMN",
        help="feature columns to leave out, for example one the leakage guard "
        "named (default: none)",
    )
    data.add_argument(
        "--allow-leaky",
        action="store_true",
        help="go on when a single column predicts the outcome almost perfectly "
        f"(AUROC >= {LEAKY_AUROC}); the checks then name it (default: refuse)",
    )
    data.add_argument(
        "--reference-population",
        metavar=f"FILE|{CENSUS_US}",
        help="population the group shares are checked against: a CSV file with "
        "columns attribute, group, share (proportions summing to 1 per attribute), "
        f"or {CENSUS_US} (US Census 2020, race_ethnicity only) (default: "
        f"{CENSUS_US} for the synthetic cohort and MIMIC-IV, none for --data)",
    )


def _protocol_options(run):
    run.add_argument(
        "--strategies",
        nargs="+",
        choices=list(STRATEGIES),
        metavar="NAME",
        help=f"strategies to compare, among {', '.join(STRATEGIES)}; erm (plain "
        "training) is always run (default: all)",
    )
    run.add_argument(
        "--models",
        nargs="+",
        choices=BASE_MODELS,
        default=list(BASE_MODELS),
        metavar="NAME",
        help=f"base models, among {', '.join(BASE_MODELS)} "
        f"(default: {' '.join(BASE_MODELS)})",
    )
    run.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        metavar="SEED",
        help="one split and fit per seed (default: 0 with --quick, else 0 1 2)",
    )
    run.add_argument(
        "--attribute",
        metavar="COLUMN",
        help="sensitive attribute the strategies train and select on (default: the "
        "first sensitive column)",
    )
    run.add_argument(
        "--quick",
        action="store_true",
        help="one seed, the first hyperparameter setting of each grid, 20000 "
        "synthetic patients and 200 bootstrap replicates: a few minutes",
    )
    run.add_argument(
        "--n-bootstrap",
        type=int,
        metavar="N",
        help="bootstrap replicates of each interval (default: 200 with --quick, "
        "else 1000)",
    )
    run.add_argument(
        "--n-jobs",
        type=int,
        metavar="N",
        help="runs fitted in parallel, -1 for every core; on a cluster every worker "
        "thread fits runs (default: 1)",
    )


def _cluster_options(cluster):
    cluster.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="fit the runs on the workers of an existing Dask cluster, whose "
        "scheduler is at ADDRESS, for example tcp://host:8786; the workers need this "
        "version of healthbalance (default: none, this machine)",
    )
    cluster.add_argument(
        "--dask-workers",
        type=int,
        metavar="N",
        help="fit the runs on a local Dask cluster of N worker processes, one "
        "thread each, started and closed by the command (default: none)",
    )


def _output_options(out):
    out.add_argument(
        "--out",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="folder of the report and tables (default: reports)",
    )
    out.add_argument(
        "--format",
        choices=["csv", "parquet"],
        default="csv",
        metavar="FORMAT",
        help="format of the tables, csv or parquet (default: csv)",
    )
    out.add_argument(
        "--suppress-below",
        type=int,
        default=SUPPRESS_BELOW,
        metavar="N",
        help="counts from 1 to N-1 are masked in every output, with the estimates "
        f"they would reveal (default: {SUPPRESS_BELOW})",
    )
    out.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="folder of the run cache (per-patient test predictions, never under "
        "--out) (default: $XDG_CACHE_HOME/healthbalance/benchmark or "
        "~/.cache/healthbalance/benchmark)",
    )
    out.add_argument(
        "--no-cache", action="store_true", help="cache nothing and refit every run"
    )
    out.add_argument(
        "--no-progress", action="store_true", help="do not show the progress bar"
    )


def load_data(args):
    """Return ``(X, y, sensitive_features, reference)`` for the chosen data source."""
    if args.data is None and (args.target or args.sensitive):
        raise UsageError(
            "--target and --sensitive name columns of --data FILE; without --data "
            "the synthetic cohort (or --mimic-iv) brings its own (use --attribute "
            "to choose the attribute strategies train on)."
        )
    if args.data is not None:
        X, y, sensitive = _load_file(args)
        default = None
    elif args.mimic_iv is not None:
        from healthbalance.datasets import load_mimic_iv

        if not args.mimic_iv.is_dir():
            raise UsageError(f"--mimic-iv {args.mimic_iv}: no such folder.")
        cohort = load_mimic_iv(args.mimic_iv)
        X, y, sensitive = cohort.data, cohort.target, cohort.sensitive_features
        default = CENSUS_US
    else:
        from healthbalance.datasets import make_icu_cohort

        n = args.n_samples or (20_000 if args.quick else 50_000)
        cohort = make_icu_cohort(n, random_state=0)
        X, y, sensitive = cohort.data, cohort.target, cohort.sensitive_features
        default = CENSUS_US
    _check_names(args, X, sensitive)
    source = args.reference_population or default
    attributes = [str(c) for c in sensitive.columns]
    try:
        reference = None if source is None else reference_population(source, attributes)
        if reference is not None:
            check_groups(reference, source, _group_names(sensitive))
    except ValueError as error:
        raise UsageError(str(error)) from error
    return X, y, sensitive, reference


def _load_file(args):
    if not args.data.is_file():
        raise UsageError(f"--data {args.data}: no such file.")
    if not args.target or not args.sensitive:
        raise UsageError(
            "--data needs --target COLUMN and --sensitive COLUMN [COLUMN ...]."
        )
    reader = pd.read_parquet if args.data.suffix == ".parquet" else pd.read_csv
    frame = reader(args.data)
    columns = [str(c) for c in frame.columns]
    for option, names in (("--target", [args.target]), ("--sensitive", args.sensitive)):
        missing = [c for c in names if c not in columns]
        if missing:
            raise UsageError(
                f"{option}: {args.data} has no column {', '.join(missing)}; its "
                f"columns are {', '.join(columns)}."
            )
    if args.target in args.sensitive:
        raise UsageError(
            f"--sensitive {args.target}: the outcome cannot also be a sensitive "
            "attribute; name the columns that define the patient groups."
        )
    _check_outcome(frame[args.target], args)
    X = frame.drop(columns=[args.target, *args.sensitive])
    return X, frame[args.target], frame[args.sensitive]


def _check_outcome(y, args):
    """Refuse an outcome column that is not binary, before anything is fitted."""
    values = pd.unique(y.dropna())
    if y.isna().any() or len(values) != 2:
        found = "missing values" if y.isna().any() else f"{len(values)} distinct values"
        raise UsageError(
            f"--target {args.target}: the outcome must have exactly two values and "
            f"no missing ones (0/1, or two labels with --pos-label); it has {found}."
        )
    labels = [normalise_label(v) for v in values]
    if args.pos_label is not None and str(args.pos_label) not in labels:
        raise UsageError(
            f"--pos-label {args.pos_label}: not a value of --target {args.target}; "
            f"use one of {', '.join(labels)}."
        )


def _group_names(sensitive):
    return {
        str(column): {normalise_label(v) for v in sensitive[column].dropna().unique()}
        for column in sensitive.columns
    }


def _check_names(args, X, sensitive):
    attributes = [str(c) for c in sensitive.columns]
    if args.attribute is not None and args.attribute not in attributes:
        raise UsageError(
            f"--attribute {args.attribute}: not a sensitive attribute; use one of "
            f"{', '.join(attributes)}."
        )
    features = [str(c) for c in X.columns]
    unknown = [c for c in args.exclude if c not in features]
    if unknown:
        raise UsageError(
            f"--exclude: no feature column {', '.join(unknown)}; the features are "
            f"{', '.join(features)}."
        )


def benchmark(args):
    """Run the benchmark described by ``args``; return the files written."""
    _check_cache_outside_out(args)
    try:
        client = connect(args.scheduler, args.dask_workers)
    except ValueError as error:
        raise UsageError(str(error)) from error
    with on_cluster(client):
        X, y, sensitive, reference = load_data(args)
        results = run_benchmark(
            X,
            y,
            sensitive,
            strategies=args.strategies,
            models=args.models,
            seeds=args.seeds or ([0] if args.quick else [0, 1, 2]),
            attribute=args.attribute,
            quick=args.quick,
            n_bootstrap=args.n_bootstrap or (200 if args.quick else 1000),
            reference_proportions=reference,
            pos_label=args.pos_label,
            cache_dir=False if args.no_cache else args.cache_dir,
            n_jobs=args.n_jobs if client is None else -1,
            progress=not args.no_progress,
            exclude=args.exclude,
            allow_leaky=args.allow_leaky,
        )
    args.out.mkdir(parents=True, exist_ok=True)
    written = _write_tables(results, args)
    html = args.out / "benchmark.html"
    write_html_report(results, html, suppress_below=args.suppress_below)
    _print_summary(results, args, [*written, html])
    return [*written, html]


def _write_tables(results, args):
    metrics, deltas = released(results, args.suppress_below)
    written = []
    for name, frame in [
        ("metrics", metrics),
        ("deltas", deltas),
        ("fits", results.fits),
    ]:
        path = args.out / f"benchmark_{name}.{args.format}"
        if args.format == "parquet":
            frame.to_parquet(path)
        else:
            frame.to_csv(path, index=False)
        written.append(path)
    return written


def _check_cache_outside_out(args):
    """Refuse a run cache (patient-level data) under the report folder."""
    if args.cache_dir is None or args.no_cache:
        return
    cache, out = args.cache_dir.expanduser().resolve(), args.out.expanduser().resolve()
    if cache == out or out in cache.parents:
        raise UsageError(
            f"--cache-dir {args.cache_dir} is inside --out {args.out}: the run cache "
            "holds per-patient predictions and must stay out of the report folder; "
            "pick another folder or leave --cache-dir out (user cache directory)."
        )


def _print_summary(results, args, written):
    print("Bottom line:")
    for line in bottom_line(results, suppress_below=args.suppress_below).splitlines():
        print(f"- {line}")
    seeds = results.settings["seeds"]
    attribute = results.settings["attribute"]
    over = f", means over seeds {', '.join(map(str, seeds))}" if len(seeds) > 1 else ""
    print(f"\nTest-set results, worst group by {attribute}{over}:")
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        table = summary_table(results, args.suppress_below).sort_values(
            ["model", "worst-group AUROC"], ascending=[True, False], kind="stable"
        )
        shown = table.apply(
            lambda column: (
                column.map(lambda v: "n/a" if pd.isna(v) else f"{v:.3f}")
                if pd.api.types.is_numeric_dtype(column)
                else column
            )
        )
        print(shown.to_string(index=False))
    if table.isna().to_numpy().any():
        print(
            "n/a: undefined, or masked because a group's count behind it (events, "
            f"true/false positives/negatives) is below {args.suppress_below}."
        )
    print("\nChecks:")
    for sentence, _ in run_checks(results, args.suppress_below):
        print(f"- {sentence}")
    print("\nFiles written:")
    for path in written:
        print(path)
    if not args.no_cache:
        cache = run_cache.resolve_cache_dir(args.cache_dir)
        print(f"\nRun cache (per-patient predictions, keep private): {cache}")


def _show_warning(message, category, filename, lineno, file=None, line=None):
    tqdm.write(f"warning: {category.__name__}: {message}", file=sys.stderr)


def main(argv=None):
    """Entry point of the ``healthbalance`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            # one plain line per distinct warning, above the progress bar: a console
            # user has no source line to look at
            warnings.simplefilter("once")
            warnings.showwarning = _show_warning
            if args.command == "benchmark":
                benchmark(args)
            elif args.command in federated.COMMANDS:
                federated.run(args)
    except (UsageError, LeakageError, federated.CommandError) as error:
        parser.exit(2, f"healthbalance {args.command}: error: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
