"""Command line: ``healthbalance benchmark`` (or ``python -m healthbalance ...``)."""

import argparse
import sys
from pathlib import Path

import pandas as pd

from healthbalance.benchmark._checks import released, run_checks, summary_table
from healthbalance.benchmark._html import write_html_report
from healthbalance.benchmark._leakage import LeakageError
from healthbalance.benchmark._models import BASE_MODELS
from healthbalance.benchmark._run import run_benchmark
from healthbalance.benchmark._strategies import STRATEGIES
from healthbalance.metrics._small_counts import SUPPRESS_BELOW

# US Census 2020 shares, the default reference of the synthetic cohort's race groups.
US_CENSUS_2020 = {
    "race_ethnicity": {
        "White": 0.578,
        "Black": 0.121,
        "Hispanic": 0.187,
        "Asian": 0.059,
        "Other/Unknown": 0.055,
    }
}


def build_parser():
    """Return the argument parser of the ``healthbalance`` command."""
    parser = argparse.ArgumentParser(prog="healthbalance", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser(
        "benchmark",
        help="compare training strategies per group, with paired confidence intervals",
    )
    data = bench.add_argument_group("data (one source)")
    data.add_argument("--dataset", choices=["synthetic-icu"], default="synthetic-icu")
    data.add_argument(
        "--data", type=Path, help="CSV or Parquet file, one row per patient"
    )
    data.add_argument(
        "--mimic-iv", type=Path, help="root folder of a local MIMIC-IV copy"
    )
    data.add_argument("--target", help="outcome column of --data (0/1)")
    data.add_argument("--pos-label", help="label of the event in --target, if not 1")
    data.add_argument("--sensitive", nargs="+", help="sensitive columns of --data")
    data.add_argument("--n-samples", type=int, help="synthetic cohort size")
    data.add_argument(
        "--exclude",
        nargs="+",
        default=[],
        metavar="COL",
        help="feature columns to leave out, for example one the leakage guard named",
    )
    data.add_argument(
        "--allow-leaky",
        action="store_true",
        help="go on when a single column predicts the outcome almost perfectly "
        "(AUROC >= 0.95); the checks then name it",
    )
    run = bench.add_argument_group("protocol")
    run.add_argument("--strategies", nargs="+", choices=list(STRATEGIES))
    run.add_argument(
        "--models", nargs="+", choices=BASE_MODELS, default=list(BASE_MODELS)
    )
    run.add_argument("--seeds", nargs="+", type=int)
    run.add_argument("--attribute", help="sensitive attribute to train and select on")
    run.add_argument("--quick", action="store_true", help="small run, under 5 minutes")
    run.add_argument("--n-bootstrap", type=int)
    run.add_argument("--n-jobs", type=int, default=None)
    out = bench.add_argument_group("output")
    out.add_argument("--out", type=Path, default=Path("reports"))
    out.add_argument("--format", choices=["csv", "parquet"], default="csv")
    out.add_argument("--suppress-below", type=int, default=SUPPRESS_BELOW)
    out.add_argument(
        "--cache-dir",
        type=Path,
        help="folder of the run cache (per-patient test predictions); default: "
        "$XDG_CACHE_HOME/healthbalance/benchmark or ~/.cache/healthbalance/benchmark",
    )
    out.add_argument(
        "--no-cache", action="store_true", help="cache nothing and refit every run"
    )
    out.add_argument("--no-progress", action="store_true")
    return parser


def load_data(args):
    """Return ``(X, y, sensitive_features, reference)`` for the chosen data source."""
    if args.data is not None:
        return _load_file(args)
    if args.mimic_iv is not None:
        from healthbalance.datasets import load_mimic_iv

        cohort = load_mimic_iv(args.mimic_iv)
        return cohort.data, cohort.target, cohort.sensitive_features, US_CENSUS_2020
    from healthbalance.datasets import make_icu_cohort

    n = args.n_samples or (20_000 if args.quick else 50_000)
    cohort = make_icu_cohort(n, random_state=0)
    return cohort.data, cohort.target, cohort.sensitive_features, US_CENSUS_2020


def _load_file(args):
    if not args.data.exists():
        raise SystemExit(f"--data {args.data}: no such file.")
    if not args.target or not args.sensitive:
        raise SystemExit(
            "--data needs --target COLUMN and --sensitive COLUMN [COLUMN ...]."
        )
    reader = pd.read_parquet if args.data.suffix == ".parquet" else pd.read_csv
    frame = reader(args.data)
    missing = [c for c in [args.target, *args.sensitive] if c not in frame.columns]
    if missing:
        raise SystemExit(f"--data {args.data} has no columns {missing}.")
    X = frame.drop(columns=[args.target, *args.sensitive])
    return X, frame[args.target], frame[args.sensitive], None


def benchmark(args):
    """Run the benchmark described by ``args`` and write the report and tables."""
    _check_cache_outside_out(args)
    X, y, sensitive, reference = load_data(args)
    args.out.mkdir(parents=True, exist_ok=True)
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
        n_jobs=args.n_jobs,
        progress=not args.no_progress,
        exclude=args.exclude,
        allow_leaky=args.allow_leaky,
    )
    metrics, deltas = released(results, args.suppress_below)
    for name, frame in [
        ("metrics", metrics),
        ("deltas", deltas),
        ("fits", results.fits),
    ]:
        path = args.out / f"benchmark_{name}.{args.format}"
        frame.to_parquet(path) if args.format == "parquet" else frame.to_csv(
            path, index=False
        )
    write_html_report(
        results, args.out / "benchmark.html", suppress_below=args.suppress_below
    )
    _print_summary(results, args)


def _check_cache_outside_out(args):
    """Refuse a run cache (patient-level data) under the report folder."""
    if args.cache_dir is None or args.no_cache:
        return
    cache, out = args.cache_dir.expanduser().resolve(), args.out.expanduser().resolve()
    if cache == out or out in cache.parents:
        raise SystemExit(
            f"--cache-dir {args.cache_dir} is inside --out {args.out}: the run cache "
            "holds per-patient predictions and must stay out of the report folder; "
            "pick another folder or leave --cache-dir out (user cache directory)."
        )


def _print_summary(results, args):
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(
            summary_table(results, args.suppress_below).round(3).to_string(index=False)
        )
    print("\nChecks:")
    for sentence, _ in run_checks(results, args.suppress_below):
        print(f"- {sentence}")
    print(f"\nReport: {args.out / 'benchmark.html'}")


def main(argv=None):
    """Entry point of the ``healthbalance`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "benchmark":
            benchmark(args)
    except LeakageError as error:
        parser.exit(2, f"healthbalance benchmark: error: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
