"""Baseline demo: a gradient boosting model on the synthetic ICU cohort, AUROC by group.

Run with ``make demo``. Everything is computed with plain scikit-learn.
"""

import time

from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from healthbalance.datasets import make_icu_cohort


def main():
    start = time.perf_counter()
    cohort = make_icu_cohort(n_samples=50_000, random_state=0)
    race = cohort.sensitive_features["race_ethnicity"]
    X_train, X_test, y_train, y_test, _, race_test = train_test_split(
        cohort.data,
        cohort.target,
        race,
        test_size=0.3,
        random_state=0,
        stratify=race.astype(str) + cohort.target.astype(str),
    )
    encode = make_column_transformer(
        (OrdinalEncoder(), ["admission_type", "sex"]), remainder="passthrough"
    )
    model = make_pipeline(encode, HistGradientBoostingClassifier(random_state=0))
    proba = model.fit(X_train, y_train).predict_proba(X_test)[:, 1]

    print(
        f"Synthetic ICU cohort: {len(cohort.target):,} stays, "
        f"mortality {cohort.target.mean():.1%}"
    )
    print(f"{'group':<16}{'n test':>8}{'deaths':>8}{'AUROC':>8}")
    print(
        f"{'overall':<16}{len(y_test):>8,}{int(y_test.sum()):>8}"
        f"{roc_auc_score(y_test, proba):>8.3f}"
    )
    for group in sorted(race_test.unique()):
        rows = (race_test == group).to_numpy()
        auroc = roc_auc_score(y_test[rows], proba[rows])
        print(f"{group:<16}{rows.sum():>8,}{int(y_test[rows].sum()):>8}{auroc:>8.3f}")
    print(f"done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
