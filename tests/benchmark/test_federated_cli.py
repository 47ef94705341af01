"""``healthbalance export-statistics`` and ``healthbalance report``, end to end."""

import json
import re
import warnings

import numpy as np
import pytest
from scipy.special import expit, logit

from healthbalance.benchmark._cli import main
from healthbalance.datasets import make_icu_cohort
from healthbalance.metrics import SmallGroupWarning


@pytest.fixture(scope="module")
def site_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sites")
    rng = np.random.default_rng(0)
    paths = []
    for k, name in enumerate("AB"):
        cohort = make_icu_cohort(1500, random_state=k, prevalence=0.1 + 0.05 * k)
        risk = cohort.oracle["latent_risk"].to_numpy()
        frame = cohort.sensitive_features[["race_ethnicity", "sex"]].assign(
            death=cohort.target, risk=expit(logit(risk) + rng.normal(0, 0.5, risk.size))
        )
        data = folder / f"{name}.csv"
        frame.to_csv(data, index=False)
        out = folder / f"{name}.json"
        argv = ["export-statistics", "--data", str(data), "--score-column", "risk",
                "--outcome-column", "death", "--sensitive-columns", "race_ethnicity",
                "sex", "--site", name, "--out", str(out)]  # fmt: skip
        assert main(argv) == 0
        paths.append((out, frame))
    return paths


def test_export_writes_a_releasable_file(site_files):
    for path, frame in site_files:
        document = json.loads(path.read_text())
        site = document["sites"][0]
        assert site["n"] == len(frame)
        counts = [c["n"] for c in site["cells"]]
        counts += [g[k] for g in site["groups"] for k in ("n", "n_events")]
        assert counts and not [c for c in counts if 0 < c < 11]
        assert site["withheld"]  # small groups of 1500 patients are withheld


def test_report_writes_html_without_small_counts(site_files, tmp_path):
    out = tmp_path / "report.html"
    argv = ["report", *(str(p) for p, _ in site_files), "--out", str(out),
            "--n-bootstrap", "20", "--by-site"]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallGroupWarning)
        assert main(argv) == 0
    page = out.read_text()
    assert "What the sites withheld" in page and "site &amp; race_ethnicity" in page
    cells = re.findall(r"<td>(\d+)</td>", page)  # the counts n, n_events
    assert cells and not [c for c in cells if 0 < int(c) < 11]


def test_errors_are_one_line_with_status_2(site_files, tmp_path, capsys):
    data = tmp_path / "x.csv"
    data.write_text("a,b\n1,2\n")
    argv = ["export-statistics", "--data", str(data), "--score-column", "risk",
            "--outcome-column", "death", "--sensitive-columns", "sex",
            "--site", "A", "--out", str(tmp_path / "o.json")]  # fmt: skip
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "has no column risk, death, sex" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "other"}')
    with pytest.raises(SystemExit):
        main(["report", str(bad), "--out", str(tmp_path / "r.html")])
    assert "bad.json" in capsys.readouterr().err
