"""A self-contained HTML report of a benchmark (plots inlined, works offline).

The report holds aggregated results only: per-group estimates, confidence intervals
and counts, with counts below ``suppress_below`` masked. No row of the data reaches it.
"""

import base64
import html
import io

from healthbalance._small_counts import SUPPRESS_BELOW
from healthbalance.benchmark import _report_calibration as calibration
from healthbalance.benchmark import _report_curves as curves
from healthbalance.benchmark import _report_plots as plots
from healthbalance.benchmark import _report_tables as tables
from healthbalance.benchmark._bottom_line import bottom_line
from healthbalance.benchmark._checks import run_checks
from healthbalance.benchmark._strategies import STRATEGIES
from healthbalance.metrics._plot import import_pyplot

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:82em;color:#222;
padding:0 1em;line-height:1.4}
h1{font-size:1.6em;margin:.2em 0} h2{font-size:1.25em;margin:1.4em 0 .4em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:right}
th{background:#f3f3f3} .nw{white-space:nowrap}
td:first-child,th:first-child{text-align:left}
caption{text-align:left;font-weight:bold;padding:.3em 0}
.bottom{background:#eef4fb;border-left:5px solid #2a6fb0;padding:.6em 1em;margin:.8em 0}
.bottom li{margin:.35em 0}
.check{background:#fff8e1;border-left:4px solid #f0a500;padding:.4em 1em;margin:.3em 0}
.ok{background:#eef8ee;border-left-color:#3a3}
.note{font-size:.85em;color:#444;margin:.2em 0} img{max-width:100%}
.settings{color:#444}
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
        sentence and plot (:mod:`healthbalance._small_counts`); 0 masks
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
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        _note(_settings(results.settings), "settings"),
        _bottom_line(results, suppress_below),
        "<h2>Strategies side by side</h2>",
        *_main_tables(results, suppress_below),
        "<h2>Checks</h2>",
        *(_check(text, ok) for text, ok in run_checks(results, suppress_below)),
        _figure(plots.plot_strategies(results, suppress_below)),
        "<h2>Paired differences against plain training (erm), by group</h2>",
        _note(
            "Difference strategy minus erm on the same test patients and bootstrap "
            "replicates, with its 95% interval (first seed). An interval that "
            "covers 0 is no evidence of a difference."
        ),
        *_delta_tables(results, suppress_below),
        "<h2>Per-group AUROC with 95% intervals</h2>",
        *_forests(results, suppress_below),
        "<h2>Reliability curves by group</h2>",
        _note(
            "Observed death rate against predicted risk per group (binned, test "
            "set, first seed), for plain training and the three probability models "
            "with the best worst-group AUROC; the same axes in every panel."
        ),
        *_reliability(results, suppress_below),
        *_smooth_calibration(results, suppress_below),
        *_decision_curves(results, suppress_below),
        "<h2>Groups</h2>",
        _table(
            tables.group_table(results, suppress_below),
            "Every group of the test set (first seed), with plain training's results",
        ),
        _note(tables.FOOTNOTE_NA),
        "<h2>Fit time</h2>",
        _table(tables.fit_table(results), "Seconds to fit the chosen setting"),
    ]
    page = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>"
    )
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(page)


def _settings(settings):
    seeds = settings.get("seeds", [])
    models = settings.get("models", [])
    strategies = settings.get("strategies", [])
    words = [
        f"Strategies trained and selected on {settings.get('attribute')}",
        f"{len(seeds)} {'seed' if len(seeds) == 1 else 'seeds'} "
        f"({', '.join(map(str, seeds))})",
        f"base {'model' if len(models) == 1 else 'models'} {', '.join(models)}",
        f"{len(strategies)} strategies",
    ]
    if "n_samples" in settings:
        words.append(f"{settings['n_samples']:,} patients")
    if "n_bootstrap" in settings:
        words.append(f"{settings['n_bootstrap']:,} bootstrap replicates")
    if settings.get("quick"):
        words.append("quick run (first hyperparameter setting only)")
    if settings.get("excluded"):
        words.append(f"columns left out: {', '.join(settings['excluded'])}")
    if settings.get("leaky_columns"):
        words.append(f"leaky columns kept: {', '.join(settings['leaky_columns'])}")
    return "; ".join(words) + "."


def _bottom_line(results, suppress_below):
    lines = bottom_line(results, suppress_below=suppress_below).splitlines()
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return (
        "<section class='bottom' id='bottom-line'><h2>Bottom line</h2>"
        f"<ul>{items}</ul></section>"
    )


def _main_tables(results, suppress_below):
    parts = []
    for model in results.settings["models"]:
        table, worst = tables.main_table(results, model, suppress_below)
        caption = (
            f"{model}: strategies by worst-group AUROC (best first); worst-off group "
            f"under plain training: {worst if worst is not None else 'n/a'}"
        )
        parts.append(_table(table, caption))
    described = "; ".join(
        f"{s}: {STRATEGIES[s].description}"
        for s in results.settings.get("strategies", [])
        if s in STRATEGIES
    )
    parts += [
        _note(
            "Test set, first seed, estimates with 95% bootstrap intervals. The worst "
            "group is each strategy's lowest AUROC among groups with reliable "
            "estimates."
        ),
        _note(tables.FOOTNOTE_MARK),
        _note(tables.FOOTNOTE_NA),
        _note(tables.FOOTNOTE_PROBABILITY),
        _note(described),
    ]
    return parts


def _delta_tables(results, suppress_below):
    parts = []
    for model in results.settings["models"]:
        for metric, name in [
            ("roc_auc", "AUROC"),
            ("calibration_intercept", "Calibration-intercept"),
        ]:
            parts.append(
                _table(
                    tables.delta_table(results, model, metric, suppress_below),
                    f"{model}: {name} difference to erm by group",
                )
            )
    return [*parts, _note(tables.FOOTNOTE_MARK)]


def _forests(results, suppress_below):
    xlim = plots.forest_limits(results, suppress_below)
    return [
        _figure(plots.plot_forest(results, model, suppress_below, xlim))
        for model in results.settings["models"]
    ]


def _reliability(results, suppress_below):
    parts = []
    for model in results.settings["models"]:
        table, _ = tables.main_table(results, model, suppress_below)
        ranked = table["strategy"].tolist()
        parts.append(
            _figure(plots.plot_reliability(results, model, ranked, suppress_below))
        )
    return parts


def _smooth_calibration(results, suppress_below):
    parts = []
    for model in results.settings["models"]:
        figure = calibration.plot_calibration(results, model, suppress_below)
        if figure is None:
            continue
        parts.append(_figure(figure))
        parts.append(
            _note(calibration.worst_calibrated(results, model, suppress_below))
        )
    if not parts:
        return []
    return [
        "<h2>Smooth calibration by group (loess)</h2>",
        _note(
            "Observed death rate against predicted risk per group, smoothed by "
            "loess (span 0.75; test set, first seed), with pointwise 95% bootstrap "
            "bands, inside each group's central 98% of predictions; dotted, without "
            "a band: a group too small for reliable estimates. Plain training "
            "against the strategy of the decision curves below; the same axes in "
            "every panel."
            + (
                " Groups masked by the small-count rule (fewer than "
                f"{suppress_below} patients, events or non-events, or recoverable "
                "by subtraction) are not drawn."
                if suppress_below
                else ""
            )
        ),
        *parts,
    ]


def _decision_curves(results, suppress_below):
    parts = []
    for model in results.settings["models"]:
        table, _ = tables.main_table(results, model, suppress_below)
        ranked = table["strategy"].tolist()
        figure = curves.plot_curves(results, model, ranked, suppress_below)
        if figure is None:
            continue
        difference, best = curves.curve_table(results, model, ranked, suppress_below)
        parts.append(_figure(figure))
        if best is not None:
            caption = f"{model}: net benefit difference {best} minus erm by group"
            parts.append(_table(difference, caption))
    if not parts:
        return []
    return [
        "<h2>Net benefit by group (decision curves), thresholds 0.05 to 0.5</h2>",
        _note(
            "Net benefit of treating the patients whose predicted risk is at least "
            "the threshold, per group (test set, first seed), with pointwise 95% "
            "intervals; dotted: treating everyone in the group; black: treating no "
            "one. Plain training against the strategy with the best worst-group "
            "AUROC among those whose scores are risks; the table gives the paired "
            "difference."
            + (
                " Thresholds where a group has from 1 to "
                f"{suppress_below - 1} true or false positives or negatives are "
                "not shown."
                if suppress_below
                else ""
            )
        ),
        *parts,
    ]


def _check(text, ok):
    return f"<div class='check{' ok' if ok else ''}'>{html.escape(text)}</div>"


def _note(text, kind="note"):
    return f"<p class='{kind}'>{html.escape(text)}</p>"


def _cell(value):
    """Escape a cell; a value and its interval may wrap apart, never the interval."""
    text = "n/a" if value is None or value != value else str(value)
    head, bracket, rest = text.partition(" [")
    if not bracket:
        return f"<span class='nw'>{html.escape(text)}</span>"
    interval, close, mark = rest.partition("]")
    value_and_mark = html.escape(head + mark)
    whole = html.escape(f"[{interval}{close}")
    return f"<span class='nw'>{value_and_mark}</span> <span class='nw'>{whole}</span>"


def _table(frame, caption):
    if frame.empty:
        return _note(f"{caption}: nothing to show.")
    frame = frame.rename(columns=lambda c: html.escape(str(c)))
    frame = frame.astype(object).map(_cell)
    body = frame.to_html(index=False, escape=False, border=0)
    start = body.index(">") + 1
    return f"{body[:start]}<caption>{html.escape(caption)}</caption>{body[start:]}"


def _palette_png(buffer):
    """Return the PNG in 256 colours: a third of the bytes, the same plot to see."""
    from PIL import Image  # matplotlib's own dependency

    buffer.seek(0)
    image = Image.open(buffer).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
        out, format="png", optimize=True
    )
    return out.getvalue()


def _figure(figure, alt="plot"):
    if figure is None:
        return ""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    import_pyplot().close(figure)
    data = base64.b64encode(_palette_png(buffer)).decode("ascii")
    return f"<p><img alt='{alt}' src='data:image/png;base64,{data}'></p>"
