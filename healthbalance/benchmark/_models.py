"""Base models and the shared preprocessing of the benchmark.

Every strategy sees the same numeric design matrix: median imputation with missingness
indicators and standard scaling for numeric columns, one-hot encoding for categorical
ones. The preprocessing is fitted on the training split only, once per seed, so the
strategies differ only in how they train.
"""

from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

BASE_MODELS = ("logistic", "hgb")


def make_preprocessor():
    """Return the unfitted preprocessing shared by every strategy."""
    numeric = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
    )
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="(missing)"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    return make_column_transformer(
        (numeric, make_column_selector(dtype_include="number")),
        (categorical, make_column_selector(dtype_exclude="number")),
        verbose_feature_names_out=False,
    )


def base_model_grid(name, quick):
    """Return ``(estimator, grid)`` for a base model; ``quick`` keeps one setting."""
    if name == "logistic":
        estimator = LogisticRegression(max_iter=1_000)
        grid = [{"C": 1.0}, {"C": 0.1}]
    elif name == "hgb":
        estimator = HistGradientBoostingClassifier(
            max_iter=200, early_stopping=False, random_state=0
        )
        grid = [
            {"learning_rate": 0.05, "max_leaf_nodes": 15},
            {"learning_rate": 0.1, "max_leaf_nodes": 31},
        ]
    else:
        raise ValueError(f"unknown base model {name!r}: use one of {BASE_MODELS}.")
    return estimator, grid[:1] if quick else grid
