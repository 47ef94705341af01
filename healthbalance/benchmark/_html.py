"""A self-contained HTML report of a benchmark (plots inlined, works offline).

The report holds aggregated results only: per-group estimates, confidence intervals
and counts, with counts below ``suppress_below`` masked. No row of the data reaches it.
"""

import base64
import html
import io

import numpy as np

from healthbalance.benchmark import _checks as checks
from healthbalance.metrics._plot import import_pyplot
from healthbalance.metrics._small_counts import SUPPRESS_BELOW

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
.check{background:#fff8e1;border-left:4px solid #f0a500;padding:.5em 1em;margin:.4em 0}
.ok{background:#eef8ee;border-left-color:#3a3}
img{max-width:100%} caption{text-align:left;font-weight:bold;padding:.3em 0}
"""


def write_html_report(
    results, path, *, suppress_below=SUPPRESS_BELOW, title="healthbalance benchmark"
):
    """Write the benchmark report to ``path`` as one self-contained HTML file.

    Parameters
    ----------
    results : BenchmarkResults
        Output of :func:`run_benchmark`.
    path : str or Path
        File to write.
    suppress_below : int, default=11
        Counts from 1 to ``suppress_below - 1``, the estimates of their groups and
        any count that would reveal them by subtraction are masked in every table,
        sentence and plot (:mod:`healthbalance.metrics._small_counts`); 0 masks
        nothing.
    title : str, default="healthbalance benchmark"
        Heading of the page.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from healthbalance.benchmark import run_benchmark, write_html_report
    >>> from healthbalance.datasets import make_icu_cohort
    >>> cohort = make_icu_cohort(2_000, random_state=0)
    >>> results = run_benchmark(cohort.data, cohort.target,
    ...                         cohort.sensitive_features[["race_ethnicity"]],
    ...                         strategies=["erm"], models=["logistic"], quick=True,
    ...                         n_bootstrap=20, progress=False)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "report.html"
    >>> write_html_report(results, path)
    >>> path.read_text().startswith("<!DOCTYPE html>")
    True
    """
    summary = checks.summary_table(results, suppress_below)
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        _settings(results.settings),
        "<h2>Checks</h2>",
        *(_check(text, ok) for text, ok in checks.run_checks(results, suppress_below)),
        "<h2>Strategies side by side</h2>",
        _note(
            "Test-set results (mean over seeds). The worst group is the lowest AUROC "
            "among groups with reliable estimates. Decisions use one threshold "
            "chosen on validation for sensitivity 0.8, except strategies that set "
            "their own."
        ),
        _table(summary, "Per strategy and base model", floats=3),
        _figure(_plot_worst_vs_overall(summary)),
        "<h2>Paired differences against plain training (erm)</h2>",
        _note(
            "Difference strategy minus erm on the same test rows and bootstrap "
            "replicates, with its 95% interval. An interval that covers 0 is no "
            "evidence of a gain."
        ),
        _table(
            checks.delta_table(results, "roc_auc", suppress_below),
            "AUROC difference by group",
        ),
        _table(
            checks.delta_table(results, "calibration_intercept", suppress_below),
            "Calibration-intercept difference by group",
        ),
        "<h2>Per-group AUROC with 95% intervals</h2>",
        *(
            _figure(_plot_forest(results, m, suppress_below))
            for m in results.settings["models"]
        ),
        "<h2>Reliability curves by group</h2>",
        _note(
            "Observed death rate against predicted risk per group (binned, test set, "
            "first seed), for plain training and the three strategies with the best "
            "worst-group AUROC."
        ),
        *(
            _figure(_plot_reliability(results, summary, m, suppress_below))
            for m in results.settings["models"]
        ),
        "<h2>Per-group estimates</h2>",
        _table(
            checks.group_table(results, suppress_below), "Test-set metrics, first seed"
        ),
        "<h2>Fit time</h2>",
        _table(
            checks.fit_table(results), "Seconds to fit the chosen setting", floats=2
        ),
    ]
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)


def _settings(settings):
    items = "".join(
        f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>"
        for k, v in settings.items()
    )
    return f"<ul>{items}</ul>"


def _check(text, ok):
    return f"<div class='check{' ok' if ok else ''}'>{html.escape(text)}</div>"


def _note(text):
    return f"<p>{html.escape(text)}</p>"


def _table(frame, caption, floats=None):
    if frame.empty:
        return _note(f"{caption}: nothing to show.")
    shown = frame.round(floats) if floats is not None else frame
    body = shown.to_html(index=False, na_rep="", escape=True, border=0)
    start = body.index(">") + 1
    return f"{body[:start]}<caption>{html.escape(caption)}</caption>{body[start:]}"


def _figure(figure):
    if figure is None:
        return ""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    import_pyplot().close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<p><img alt='plot' src='data:image/png;base64,{data}'></p>"


def _plot_worst_vs_overall(summary):
    plt = import_pyplot()
    models = summary["model"].unique()
    strategies = list(dict.fromkeys(summary["strategy"]))
    colors = dict(zip(strategies, plt.get_cmap("tab20").colors, strict=False))
    markers = dict(zip(strategies, "os^vDPX*<>" * 2, strict=False))
    figure, axes = plt.subplots(
        1, len(models), figsize=(5.5 * len(models), 4.5), squeeze=False
    )
    for ax, model in zip(axes[0], models, strict=True):
        rows = summary[summary["model"] == model]
        for strategy, overall, worst in zip(
            rows["strategy"],
            rows["overall AUROC"],
            rows["worst-group AUROC"],
            strict=True,
        ):
            ax.scatter(
                overall,
                worst,
                color=colors[strategy],
                marker=markers[strategy],
                label=strategy,
            )
        ax.set(xlabel="overall AUROC", ylabel="worst-group AUROC", title=model)
    handles, labels = axes[0][-1].get_legend_handles_labels()
    figure.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return figure


def _plot_forest(results, model, suppress_below):
    plt = import_pyplot()
    frame, _ = checks.released(results, suppress_below)
    rows = frame[
        (frame["model"] == model)
        & (frame["metric"] == "roc_auc")
        & (frame["seed"] == results.settings["seeds"][0])
        & (frame["attribute"] == results.settings["attribute"])
        & frame["estimate"].notna()
    ]
    if rows.empty:
        return None
    groups = sorted(rows["group"].unique())
    strategies = list(dict.fromkeys(rows["strategy"]))
    figure, axes = plt.subplots(
        1,
        len(groups),
        figsize=(3 * len(groups), 0.3 * len(strategies) + 1.5),
        sharey=True,
        squeeze=False,
    )
    for ax, group in zip(axes[0], groups, strict=True):
        g = rows[rows["group"] == group].set_index("strategy").reindex(strategies)
        y = np.arange(len(strategies))
        err = np.vstack([g["estimate"] - g["ci_low"], g["ci_high"] - g["estimate"]])
        ax.errorbar(g["estimate"], y, xerr=np.nan_to_num(err), fmt="o", ms=3)
        ax.set(title=str(group), xlabel="AUROC")
        ax.set_yticks(y, strategies)
        ax.invert_yaxis()
    figure.suptitle(f"{model}: AUROC by {results.settings['attribute']}")
    return figure


def _plot_reliability(results, summary, model, suppress_below):
    plt = import_pyplot()
    ranked = summary[(summary["model"] == model) & (summary["strategy"] != "erm")]
    ranked = ranked.sort_values("worst-group AUROC", ascending=False)
    shown = ["erm", *ranked["strategy"].head(3)]
    seed = results.settings["seeds"][0]
    figure, axes = plt.subplots(
        1, len(shown), figsize=(4 * len(shown), 4), squeeze=False
    )
    for ax, strategy in zip(axes[0], shown, strict=True):
        report = results.reports[seed, model, strategy]
        report.plot_calibration(
            attribute=results.settings["attribute"],
            suppress_below=suppress_below or None,
            ax=ax,
        )
        ax.set_title(f"{model}: {strategy}")
    return figure
