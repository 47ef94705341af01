"""The report's smooth calibration: plain training against the best strategy."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from healthbalance._small_counts import suppress  # noqa: E402
from healthbalance.benchmark import _report_calibration as calibration  # noqa: E402
from healthbalance.benchmark import _report_curves as curves  # noqa: E402
from healthbalance.benchmark import _report_tables as tables  # noqa: E402
from healthbalance.benchmark import write_html_report  # noqa: E402
from healthbalance.metrics import CalibrationCurves  # noqa: E402
from tests.benchmark._helpers import hand_built  # noqa: E402

ATTRIBUTE = "race_ethnicity"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _drawn(figure):
    """Return ``{panel title: {label: (x, y)}}`` of the curves drawn per group."""
    out = {}
    for ax in figure.axes:
        lines = {
            line.get_label().removesuffix(" (unreliable)"): line.get_data()
            for line in ax.get_lines()
            if line.get_label() not in ("ideal", "overall")
        }
        out[ax.get_title()] = lines
    return out


def _ici(results, suppress_below):
    """The ICI rows of the training attribute, released as the CSVs are."""
    m = results.metrics
    if suppress_below:
        m = suppress(m, suppress_below)
    return m[(m["metric"] == "ici") & (m["attribute"] == ATTRIBUTE)]


def test_erm_and_the_decision_curves_strategy_have_curves_and_ici(results):
    table, _ = tables.main_table(results, "logistic", 11)
    figure = curves.plot_curves(results, "logistic", table["strategy"].tolist(), 11)
    shown = [title.split(": ")[1] for title in (a.get_title() for a in figure.axes)]
    stored = results.calibration[0, "logistic"]
    assert list(stored) == shown == ["erm", shown[1]]
    assert all(isinstance(c, CalibrationCurves) for c in stored.values())
    assert all(c.method == "loess" for c in stored.values())
    # ICI only for these two, per group of the training attribute and overall
    ici = results.metrics[results.metrics["metric"] == "ici"]
    assert sorted(ici["strategy"].unique()) == sorted(shown)
    assert set(ici["attribute"]) == {"overall", ATTRIBUTE}
    assert ici["estimate"].between(0, 1).all()


def test_the_figure_draws_the_released_curves_on_shared_axes(results):
    figure = calibration.plot_calibration(results, "logistic", 11)
    drawn = _drawn(figure)
    strategies = list(results.calibration[0, "logistic"])
    assert list(drawn) == [f"logistic: {s}" for s in strategies]
    assert figure.axes[0].get_xlim() == figure.axes[1].get_xlim()
    assert figure.axes[0].get_ylim() == figure.axes[1].get_ylim()
    assert figure.legends  # one legend, outside the panels
    ici = _ici(results, 11)
    for strategy in strategies:
        lines = drawn[f"logistic: {strategy}"]
        released = results.calibration[0, "logistic"][strategy].to_frame(11)
        released = released[released["attribute"] == ATTRIBUTE]
        for group, rows in released.groupby("group"):
            shown = rows[rows["observed"].notna()]
            # a group the small-count rule masks (in the released metrics too)
            masked = ici[(ici["strategy"] == strategy) & (ici["group"] == group)]
            assert shown.empty == bool(masked["estimate"].isna().all())
            if shown.empty:
                assert group not in lines
            else:
                x, y = lines[group]
                np.testing.assert_array_equal(x, shown["predicted"])
                np.testing.assert_array_equal(y, shown["observed"])


def test_a_masked_group_is_drawn_only_when_nothing_is_masked(results):
    ici = _ici(results, 11)
    masked = set(ici.loc[ici["estimate"].isna(), "group"])
    assert masked  # the small run has groups below the threshold
    released = set().union(
        *_drawn(calibration.plot_calibration(results, "logistic", 11)).values()
    )
    everything = set().union(
        *_drawn(calibration.plot_calibration(results, "logistic", 0)).values()
    )
    assert not masked & released
    assert masked <= everything


def test_the_sentence_names_the_worst_group_by_ici(results):
    sentence = calibration.worst_calibrated(results, "logistic", 11)
    ici = _ici(results, 11)
    assert sentence.startswith(f"logistic, worst calibrated group of {ATTRIBUTE}")
    for strategy in results.calibration[0, "logistic"]:
        rows = ici[
            (ici["strategy"] == strategy)
            & ici["reliable"].astype(bool)
            & ici["estimate"].notna()
        ]
        worst = rows.loc[rows["estimate"].idxmax()]
        entry = (
            f"{worst['group']} under {strategy}, ICI {worst['estimate']:.3f} "
            f"[{worst['ci_low']:.3f}, {worst['ci_high']:.3f}]"
        )
        assert entry in sentence


def test_the_report_has_the_section_figure_and_sentence(results, tmp_path):
    path = tmp_path / "report.html"
    write_html_report(results, path)
    page = path.read_text()
    section = page.split("<h2>Smooth calibration by group (loess)</h2>")[1]
    section = section.split("<h2>")[0]
    assert section.count("<img") == 1  # one model
    assert calibration.worst_calibrated(results, "logistic", 11) in section


def test_results_without_calibration_draw_nothing():
    results = hand_built({"reweighing": 0.01})
    assert calibration.plot_calibration(results, "logistic", 11) is None
    assert calibration.worst_calibrated(results, "logistic", 11) is None
