"""Write the decision-curve reference tables of ``test_decision_curve.py``.

Run once, by hand, in a separate environment: ``dcurves`` depends on ``lifelines``,
which pins pandas < 3, so it cannot live in the test environment::

    python3 -m venv /tmp/dcurves-venv
    /tmp/dcurves-venv/bin/pip install dcurves "pandas<3"
    /tmp/dcurves-venv/bin/python tests/metrics/data/make_dcurves_fixture.py

It is not run in CI. Input: ``dcurves``'s own example data ``df_binary.csv`` (750
simulated patients), the columns the test needs. Output: ``dcurves.dca`` net benefit
and net interventions avoided of two models (and of treating all) at thresholds 0.01
to 0.99, for all patients and for each ``risk_group``.
"""

from pathlib import Path

import dcurves
import numpy as np
import pandas as pd

HERE = Path(__file__).parent
MODELS = ["cancerpredmarker", "famhistory"]
THRESHOLDS = np.round(np.arange(1, 100) / 100, 2)


def _dca(data, group):
    table = dcurves.dca(
        data=data, outcome="cancer", modelnames=MODELS, thresholds=THRESHOLDS
    )
    table = table[table["model"].isin([*MODELS, "all"])]
    table = table[["model", "threshold", "net_benefit", "net_intervention_avoided"]]
    return table.assign(group=group)


def main():
    source = pd.read_csv(Path(dcurves.data) / "df_binary.csv")
    data = source[["cancer", "risk_group", *MODELS]].copy()
    data["cancer"] = data["cancer"].astype(int)
    data.to_csv(HERE / "dcurves_input.csv", index=False)
    tables = [_dca(data, "overall")]
    for group, rows in data.groupby("risk_group"):
        tables.append(_dca(rows.reset_index(drop=True), group))
    out = pd.concat(tables, ignore_index=True)
    out = out[
        ["group", "model", "threshold", "net_benefit", "net_intervention_avoided"]
    ]
    out.to_csv(HERE / "dcurves_net_benefit.csv", index=False, float_format="%.17g")
    print(f"dcurves {dcurves.__version__}: {len(out)} rows")


if __name__ == "__main__":
    main()
