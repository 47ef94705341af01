import numpy as np
import pandas as pd


def make_scores(n, seed=0, ties=False):
    """Binary outcome, probabilities that depend on it, two attributes."""
    rng = np.random.default_rng(seed)
    race = rng.choice(["Black", "White", "Asian"], n, p=[0.3, 0.5, 0.2])
    sex = rng.choice(["F", "M"], n)
    y = rng.binomial(1, np.where(race == "Black", 0.35, 0.25))
    p = np.clip(rng.beta(2, 5, n) + 0.25 * y, 0, 1)
    if ties:
        p = np.round(p, 1)
    return y, p, pd.DataFrame({"race": race, "sex": sex})


# Exact from weighted cells at agreed edges (Dask, federated sites): counts, the
# metrics at the threshold (always an edge) and those read from the per-cell sums
# (Brier, log loss, ECE).
EXACT = [
    "n",
    "n_events",
    "prevalence",
    "brier_score",
    "log_loss",
    "ece",
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
    "f1",
    "fnr",
    "fpr",
    "net_benefit",
]
