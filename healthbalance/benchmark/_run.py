"""Run the benchmark: every (seed, base model, strategy) run, then the reports."""

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from healthbalance._sensitive import check_sensitive_features
from healthbalance._small_counts import SUPPRESS_BELOW, count_text
from healthbalance.benchmark import _protocol as protocol
from healthbalance.benchmark import _run_cache as run_cache
from healthbalance.benchmark._bottom_line import PLAIN, bottom_line
from healthbalance.benchmark._checks import has_probabilities
from healthbalance.benchmark._leakage import check_leakage
from healthbalance.benchmark._models import BASE_MODELS, base_model_grid
from healthbalance.benchmark._report_curves import best_strategy
from healthbalance.benchmark._report_tables import main_table
from healthbalance.benchmark._strategies import STRATEGIES
from healthbalance.metrics import (
    SmallGroupWarning,
    calibration_by_group,
    compare_models,
    decision_curve,
    group_report,
    representation_report,
)
from healthbalance.metrics._validation import check_target

SCORE_METRICS = [
    "roc_auc",
    "average_precision",
    "brier_score",
    "calibration_intercept",
    "calibration_slope",
    "ece",
]
DECISION_METRICS = ["sensitivity", "specificity", "ppv", "npv"]
DELTA_METRICS = ["roc_auc", "average_precision", "brier_score", "calibration_intercept"]
# Decision curves of the report: the clinically relevant range of thresholds for
# in-hospital mortality (treat from a 5% risk, rarely wait beyond 50%).
CLINICAL_THRESHOLDS = np.round(np.arange(5, 51) / 100, 2)
BAR_FORMAT = "{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]"
EMPTY_DELTAS = pd.DataFrame(
    columns=[
        "seed",
        "model",
        "strategy",
        "attribute",
        "group",
        "metric",
        "difference",
        "ci_low",
        "ci_high",
        "reliable",
    ]
)


@dataclass
class BenchmarkResults:
    """Everything the benchmark produced, as tidy DataFrames (no row-level data).

    Attributes
    ----------
    metrics : pandas.DataFrame
        Per seed, base model, strategy, attribute and group: each metric's estimate
        and bootstrap confidence interval, with ``n``, ``n_events`` and ``reliable``.
    deltas : pandas.DataFrame
        Paired bootstrap differences of each strategy against ``erm`` (same seed and
        base model), per group and metric, from
        :func:`~healthbalance.metrics.compare_models`.
    fits : pandas.DataFrame
        Per run: chosen hyperparameters, fit seconds, validation worst-group AUROC and
        the operating threshold.
    reports : dict
        ``(seed, model, strategy) -> GroupReport`` of the test-set scores, for plots.
    representation : pandas.DataFrame or None
        Each group's share of the data against the reference population, from
        :func:`~healthbalance.metrics.representation_report`.
    settings : dict
        How the benchmark was run (attribute, seeds, sizes, strategies).
    curves : dict
        ``(seed, model) -> DecisionCurve`` of the first seed: net benefit per group
        of every strategy whose scores are risks, at :data:`CLINICAL_THRESHOLDS`
        (0.05 to 0.5), paired against ``erm``.
    calibration : dict
        ``(seed, model) -> {strategy: CalibrationCurves}`` of the first seed: smooth
        (loess) calibration curves per group of the training attribute, with
        pointwise bands, for plain training and the strategy of the decision-curve
        figure (the best worst-group AUROC among those whose scores are risks, as
        ranked with the default small-count threshold). Their ``ici`` per group,
        with its interval, is in ``metrics`` (only for these two strategies).
    """

    metrics: pd.DataFrame
    deltas: pd.DataFrame
    fits: pd.DataFrame
    reports: dict
    representation: object
    settings: dict
    curves: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)

    def summary(self, metric="roc_auc", *, suppress_below=SUPPRESS_BELOW):
        """Return the bottom line of the benchmark in plain words.

        Per base model and attribute: the worst-off group under plain training, the
        strategy that did best for it with its paired difference and 95% interval,
        whether any strategy is distinguishable from plain training and the
        calibration verdict (see :func:`bottom_line`).

        Parameters
        ----------
        metric : str, default="roc_auc"
            The metric that ranks groups and strategies.
        suppress_below : int, default=11
            Small-count threshold; 0 masks nothing.

        Returns
        -------
        summary : str
        """
        return bottom_line(self, metric=metric, suppress_below=suppress_below)


def run_benchmark(
    X,
    y,
    sensitive_features,
    *,
    strategies=None,
    models=BASE_MODELS,
    seeds=(0,),
    attribute=None,
    quick=False,
    n_bootstrap=500,
    reference_proportions=None,
    pos_label=None,
    cache_dir=None,
    n_jobs=None,
    progress=True,
    exclude=None,
    allow_leaky=False,
):
    """Compare training strategies side by side on the same splits.

    For each seed the data are split into train, validation and test sets (60/20/20,
    stratified by group and outcome). For each base model and strategy every
    hyperparameter setting is fitted on train and the one with the best worst-group
    validation AUROC (:func:`~healthbalance.metrics.make_group_scorer`, over the
    groups reliable by the report's rule; the checks name those left out) is kept.
    Its test-set scores are then evaluated per group with bootstrap confidence
    intervals, and compared with plain training (``erm``) by paired bootstrap
    differences.

    Parameters
    ----------
    X : pandas.DataFrame or array-like of shape (n_samples, n_features)
        Features; numeric and categorical columns are preprocessed alike for every
        strategy (imputation, scaling, one-hot encoding fitted on train).
    y : array-like of shape (n_samples,)
        Binary outcome (0/1, or two labels with ``pos_label``).
    sensitive_features : pandas.DataFrame or array-like
        Groups: every attribute is reported; ``attribute`` is the one strategies train
        on.
    strategies : list of str, default=None
        Names from ``STRATEGIES``; ``None`` runs all of them. ``erm`` is always run.
    models : sequence of str, default=("logistic", "hgb")
        Base models.
    seeds : sequence of int, default=(0,)
        One split and fit per seed.
    attribute : str, default=None
        Sensitive attribute used for training and model selection; defaults to the
        first column of ``sensitive_features``.
    quick : bool, default=False
        Try only the first hyperparameter setting of each grid.
    n_bootstrap : int, default=500
        Bootstrap replicates of the confidence intervals.
    reference_proportions : dict, default=None
        ``{attribute: {group: share}}`` of a reference population (e.g. census
        shares), to check representation; ``None`` skips that check.
    pos_label : int, float, bool or str, default=None
        Label of the event in ``y``; needed when ``y`` holds strings.
    cache_dir : str, Path, None or False, default=None
        Folder of the run cache, where each finished run (its test-set scores and
        decisions: patient-level data) is stored so that a rerun skips it. ``None``
        uses the user's cache directory, ``$XDG_CACHE_HOME/healthbalance/benchmark``
        or ``~/.cache/healthbalance/benchmark``; ``False`` caches nothing. A file is
        reused only if it was written for the same data, library version and full
        run configuration (hyperparameter grids included); an unreadable or foreign
        file is ignored with a ``CacheWarning`` naming it, and the run refitted.
        See :doc:`/privacy` for how to delete it.
    n_jobs : int, default=None
        Runs fitted in parallel (joblib), each on one thread. The runs go to the
        joblib backend active around the call: on a Dask cluster with
        ``joblib.parallel_config(backend="dask")`` (and ``n_jobs=-1``), every worker
        thread fits runs, and each seed's preprocessed splits are sent to the
        cluster once, not with every run. The results do not depend on the
        backend; the evaluation and the run cache stay in the calling process
        (see :ref:`scaling`).
    progress : bool, default=True
        Show a progress bar.
    exclude : list of str, default=None
        Columns of ``X`` to leave out of the features (for example one found leaky).
    allow_leaky : bool, default=False
        Go on when a single column predicts the outcome almost perfectly (folded
        AUROC at or above 0.95); the checks then name it. By default such a column
        raises a ``LeakageError`` (a ``ValueError``) naming it and the fix.

    Returns
    -------
    results : BenchmarkResults

    See Also
    --------
    write_html_report : The self-contained HTML report of the results.

    Examples
    --------
    >>> from healthbalance.benchmark import run_benchmark
    >>> from healthbalance.datasets import make_icu_cohort
    >>> cohort = make_icu_cohort(2_000, random_state=0)
    >>> results = run_benchmark(cohort.data, cohort.target,
    ...                         cohort.sensitive_features[["race_ethnicity"]],
    ...                         strategies=["erm", "reweighing"], models=["logistic"],
    ...                         quick=True, n_bootstrap=20, progress=False)
    >>> sorted(results.fits["strategy"])
    ['erm', 'reweighing']
    >>> sorted(results.deltas["strategy"].unique())
    ['reweighing']
    """
    X, y = _check_data(X, y, pos_label)
    X = _exclude(X, exclude)
    sensitive = check_sensitive_features(sensitive_features, len(y))
    attribute = _check_attribute(attribute, sensitive)
    names = _check_strategies(strategies)
    runs = [
        (seed, model, name)
        for seed in seeds
        for model in models
        for name in names
        if model in STRATEGIES[name].models
    ]
    with _in_caller():
        leaky = check_leakage(X, y, allow_leaky=allow_leaky)
        fingerprint = protocol.data_fingerprint(X, y, sensitive, attribute)
        splits = {
            seed: protocol.prepare_seed(X, y, sensitive, attribute, seed)
            for seed in seeds
        }
    cache = run_cache.resolve_cache_dir(cache_dir)
    done = _run_all(runs, splits, quick, cache, fingerprint, n_jobs, progress)
    settings = {
        "attribute": attribute,
        "seeds": list(seeds),
        "models": list(models),
        "strategies": names,
        "quick": quick,
        "n_samples": len(y),
        "n_bootstrap": n_bootstrap,
        "excluded": list(exclude or []),
        "leaky_columns": leaky,
        **_selection_groups(splits),
    }
    with _in_caller():
        results = _evaluate(done, splits, sensitive, settings)
    if reference_proportions:
        results.representation = representation_report(
            sensitive, reference_proportions, y_true=y
        )
    return results


def _in_caller():
    """Keep the caller's work (leakage check, splits, evaluation) in this process.

    Only the runs go to the backend the caller chose: on a Dask cluster, the
    preprocessing (a ``ColumnTransformer``) and the bootstrap of every report would
    otherwise ship the data to the workers piece by piece. Threads keep the
    caller's ``n_jobs``; the replicates do not depend on it.
    """
    return parallel_config(backend="threading")


def _selection_groups(splits):
    """Return the groups model selection left out as unreliable, and the others."""
    unreliable, everyone = set(), set()
    for split in splits.values():
        val = split["val"]
        unreliable.update(protocol.unreliable_groups(val["y"], val["groups"]))
        everyone.update(str(g) for g in np.unique(val["groups"]))
    return {
        "selection_unreliable": sorted(unreliable),
        "selection_compared": sorted(everyone - unreliable),
    }


def _check_data(X, y, pos_label):
    y = check_target(y, pos_label=pos_label)
    if np.unique(y).size < 2:
        raise ValueError("the outcome has a single class: the benchmark needs both.")
    X = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    if len(X) != len(y):
        raise ValueError(
            f"X has {count_text(len(X))} rows but y has {count_text(len(y))}: pass "
            "one per patient."
        )
    return X.reset_index(drop=True), y


def _exclude(X, exclude):
    if not exclude:
        return X
    columns = [str(c) for c in X.columns]
    unknown = [c for c in exclude if c not in columns]
    if unknown:
        raise ValueError(
            f"exclude names columns X does not have: {unknown}; its columns are "
            f"{columns}."
        )
    return X.drop(columns=[c for c in X.columns if str(c) in exclude])


def _check_attribute(attribute, sensitive):
    if attribute is None:
        return sensitive.columns[0]
    if attribute not in sensitive.columns:
        raise ValueError(
            f"attribute={attribute!r} is not a sensitive attribute: use one of "
            f"{list(sensitive.columns)}."
        )
    return attribute


def _check_strategies(strategies):
    names = list(STRATEGIES) if strategies is None else list(strategies)
    unknown = [s for s in names if s not in STRATEGIES]
    if unknown:
        raise ValueError(
            f"unknown strategies {unknown}: use names from {list(STRATEGIES)}."
        )
    return ["erm", *[s for s in names if s != "erm"]]


def _run_all(runs, splits, quick, cache_dir, fingerprint, n_jobs, progress):
    done, todo = {}, []
    for seed, model, name in runs:
        path = config = None
        if cache_dir is not None:
            config = run_cache.run_config(
                fingerprint, seed, model, STRATEGIES[name], quick
            )
            path = run_cache.run_path(cache_dir, config)
            n_test = len(splits[seed]["test"]["y"])
            # Warnings point at 1 this line, 2 run_benchmark's, 3 its caller's.
            run = run_cache.load_run(path, config, n_test)
            if run is not None:
                done[seed, model, name] = run
                continue
        todo.append((seed, model, name, path, config))
    jobs = (
        delayed(_run_one)(splits[seed], STRATEGIES[name], model, seed, quick)
        for seed, model, name, *_ in todo
    )
    outputs = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    costs = [
        _expected_cost(STRATEGIES[name], model, quick) for _, model, name, *_ in todo
    ]
    with _progress_bar(sum(costs), len(todo), progress) as bar:
        for i, (seed, model, name, path, config) in enumerate(todo):
            run = f"run {i + 1}/{len(todo)}: {name} ({model}, seed {seed})"
            bar.set_description_str(run)
            done[seed, model, name] = next(outputs)
            if path is not None:
                # written here, by the caller: a worker of a cluster may not see
                # the caller's disk
                run_cache.save_run(path, done[seed, model, name], config)
            bar.update(costs[i])
    return done


def _expected_cost(strategy, model, quick):
    """Return the expected fit seconds of a run (the strategy's static cost table)."""
    _, base_grid = base_model_grid(model, quick)
    n_settings = len(base_grid) * len(strategy.grid[: 1 if quick else None])
    return strategy.cost.get(model, 1.0) * n_settings


def _progress_bar(total_cost, n_runs, progress):
    """Return a bar in expected fit seconds, so that its ETA weighs the runs."""
    return tqdm(
        total=total_cost,
        disable=not progress or n_runs == 0,
        bar_format=BAR_FORMAT,
    )


def _run_one(splits, strategy, model, seed, quick):
    try:
        # One thread per run: runs go parallel through n_jobs, and OpenMP or BLAS
        # threads fighting over busy cores multiplied the CPU time of a
        # HistGradientBoosting fit by 8 (9.1 against 1.1 CPU-seconds).
        with threadpool_limits(limits=1):
            splits = protocol.own_memory(splits)
            return protocol.fit_run(splits, strategy, model, seed, quick)
    except Exception as error:
        raise RuntimeError(
            f"strategy {strategy.name!r} with base model {model!r} (seed {seed}) "
            f"failed: {error}"
        ) from error


def _evaluate(done, splits, sensitive, settings):
    metrics, deltas, fits, reports, curves = [], [], [], {}, {}
    for seed in settings["seeds"]:
        test = splits[seed]["test"]
        groups = sensitive.iloc[test["rows"]].reset_index(drop=True)
        for model in settings["models"]:
            runs = {n: r for (s, m, n), r in done.items() if s == seed and m == model}
            keys = {"seed": seed, "model": model}
            for name, run in runs.items():
                report = _report(
                    test["y"], run["score"], groups, SCORE_METRICS, seed, settings
                )
                decisions = _report(
                    test["y"],
                    run["decision"],
                    groups,
                    DECISION_METRICS,
                    seed,
                    settings,
                )
                reports[seed, model, name] = report
                for frame in (report.to_frame(), decisions.to_frame()):
                    metrics.append(frame.assign(**keys, strategy=name))
                fits.append({**keys, "strategy": name, **_fit_row(run)})
            if len(runs) > 1:
                scores = {name: run["score"] for name, run in runs.items()}
                delta = _compare(test["y"], scores, groups, seed, settings)
                deltas.append(
                    delta.rename(columns={"model": "strategy"}).assign(**keys)
                )
            if seed == settings["seeds"][0] and PLAIN in runs:
                curves[seed, model] = _curves(test["y"], runs, groups, seed, settings)
    results = BenchmarkResults(
        metrics=_front(pd.concat(metrics, ignore_index=True)),
        deltas=_front(pd.concat(deltas, ignore_index=True)) if deltas else EMPTY_DELTAS,
        fits=pd.DataFrame(fits),
        reports=reports,
        representation=None,
        settings=settings,
        curves=curves,
    )
    _add_calibration(results, done, splits[settings["seeds"][0]]["test"], sensitive)
    return results


def _curves(y, runs, groups, seed, settings):
    """Decision curves of the strategies whose scores are risks, against erm."""
    scores = {
        name: run["score"] for name, run in runs.items() if has_probabilities(name)
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        return decision_curve(
            y,
            scores,
            sensitive_features=groups,
            thresholds=CLINICAL_THRESHOLDS,
            reference=PLAIN,
            intersections=False,
            n_bootstrap=settings["n_bootstrap"],
            random_state=seed,
        )


def _add_calibration(results, done, test, sensitive):
    """Smooth calibration and ICI per group of erm and the decision curves' best.

    Only these two strategies (the report draws no others): the loess fits of every
    bootstrap replicate are the slowest statistics of the benchmark.
    """
    settings = results.settings
    attribute = [settings["attribute"]]
    groups = sensitive.iloc[test["rows"]][attribute].reset_index(drop=True)
    frames = [results.metrics]
    for (seed, model), curve in results.curves.items():
        ranked = main_table(results, model, SUPPRESS_BELOW)[0]["strategy"].tolist()
        best = best_strategy(curve, ranked)
        shown = [PLAIN] if best is None else [PLAIN, best]
        results.calibration[seed, model] = {}
        for name in shown:
            score = done[seed, model, name]["score"]
            curves, ici = _smooth(test["y"], score, groups, seed, settings)
            results.calibration[seed, model][name] = curves
            frames.append(ici.assign(seed=seed, model=model, strategy=name))
    results.metrics = _front(pd.concat(frames, ignore_index=True))


def _smooth(y, score, groups, seed, settings):
    """Return the loess calibration curves per group and their ICI frame."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        curves = calibration_by_group(
            y,
            score,
            sensitive_features=groups,
            intersections=False,
            n_bootstrap=settings["n_bootstrap"],
            random_state=seed,
        )
    ici = _report(y, score, groups, ["ici"], seed, settings)
    return curves, ici.to_frame()


def _report(y, score, groups, metrics, seed, settings):
    with warnings.catch_warnings():
        # Small groups are flagged in the report and listed by the checks instead.
        warnings.simplefilter("ignore", SmallGroupWarning)
        return group_report(
            y,
            score,
            sensitive_features=groups,
            metrics=metrics,
            threshold=0.5,
            n_bootstrap=settings["n_bootstrap"],
            intersections=False,
            random_state=seed,
        )


def _compare(y, scores, groups, seed, settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        return compare_models(
            y,
            scores,
            sensitive_features=groups,
            reference="erm",
            metrics=DELTA_METRICS,
            intersections=False,
            n_bootstrap=settings["n_bootstrap"],
            random_state=seed,
        )


def _fit_row(run):
    return {
        "params": str(run["params"]),
        "fit_seconds": run["fit_seconds"],
        "val_worst_auroc": run["val_worst_auroc"],
        "threshold": run["threshold"],
    }


def _front(frame):
    first = [c for c in ("seed", "model", "strategy") if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]
