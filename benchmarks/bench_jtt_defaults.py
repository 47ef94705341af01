"""JTTClassifier defaults on the synthetic ICU cohort, against plain training.

Prints the test AUROC, the largest and mean risk, and the share predicted positive,
for a range of ``upweight`` values. Run from the repository root:
``PYTHONPATH=. python benchmarks/bench_jtt_defaults.py [n_samples]`` (default 20,000).
"""

import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from healthbalance.benchmark._models import make_preprocessor
from healthbalance.datasets import make_icu_cohort
from healthbalance.training import JTTClassifier


def main(n_samples=20_000, upweights=(1, 2, 3, 5, 10, 20)):
    cohort = make_icu_cohort(n_samples, random_state=0)
    X, y = cohort.data, cohort.target.to_numpy()
    groups = cohort.sensitive_features["race_ethnicity"].to_numpy()
    X_tr, X_te, y_tr, y_te, g_tr, g_te = train_test_split(
        X, y, groups, test_size=0.3, stratify=y, random_state=0
    )
    pre = make_preprocessor().fit(X_tr)
    X_tr, X_te = pre.transform(X_tr), pre.transform(X_te)
    model = LogisticRegression(max_iter=1000)
    rows = [("plain", model.fit(X_tr, y_tr).predict_proba(X_te)[:, 1])]
    for upweight in upweights:
        jtt = JTTClassifier(model, upweight=upweight, random_state=0)
        start = time.perf_counter()
        jtt.fit(X_tr, y_tr, sensitive_features=g_tr)
        label = f"JTT upweight={upweight} ({time.perf_counter() - start:.1f} s)"
        rows.append((label, jtt.predict_proba(X_te)[:, 1]))
    print(f"n={n_samples}, test prevalence {y_te.mean():.3f}")
    print(f"{'model':34} {'AUROC':>6} {'max p':>6} {'mean p':>7} {'pred+':>6}")
    for label, p in rows:
        print(
            f"{label:34} {roc_auc_score(y_te, p):6.3f} {p.max():6.3f} "
            f"{p.mean():7.3f} {np.mean(p >= 0.5):6.3f}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
