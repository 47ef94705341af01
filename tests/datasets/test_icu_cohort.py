import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from healthbalance.datasets import make_icu_cohort
from healthbalance.datasets._icu_physiology import NUMERIC_FEATURES

NO_BIAS = {
    "prevalence_shift": 0.0,
    "measurement_bias": 0.0,
    "effect_heterogeneity": 0.0,
    "label_noise": 0.0,
}
GROUPS = ["White", "Black", "Hispanic", "Asian", "Other/Unknown"]


@pytest.fixture(scope="module")
def large():
    return make_icu_cohort(200_000, random_state=0)


def test_bunch_layout(large):
    assert list(large.data.columns) == large.feature_names
    assert list(large.sensitive_features.columns) == [
        "race_ethnicity",
        "sex",
        "age_group",
        "insurance",
    ]
    assert large.target.name == "in_hospital_mortality"
    assert set(large.target.unique()) == {0, 1}
    assert large.frame.shape[0] == 200_000
    for column in [*large.feature_names, "race_ethnicity", "in_hospital_mortality"]:
        assert column in large.frame.columns
    assert "sex" in large.data.columns and "race_ethnicity" not in large.data.columns
    assert large.frame["stay_id"].is_unique


ORACLE = ["latent_risk", "sao2", "true_mortality"]


def test_oracle_columns_are_kept_out_of_frame_and_data(large):
    assert list(large.oracle.columns) == ["stay_id", *ORACLE]
    np.testing.assert_array_equal(large.oracle["stay_id"], large.frame["stay_id"])
    for frame in (large.frame, large.data):
        assert not set(ORACLE) & set(frame.columns)


def test_a_csv_of_frame_cannot_leak_the_oracle(tmp_path):
    cohort = make_icu_cohort(3_000, random_state=5)
    path = tmp_path / "cohort.csv"
    cohort.frame.to_csv(path, index=False)
    exported = pd.read_csv(path)
    assert not set(ORACLE) & set(exported.columns)
    # No exported column carries an oracle's values under another name either.
    for name in ["latent_risk", "sao2"]:
        truth = cohort.oracle[name].to_numpy()
        for column in exported.select_dtypes("number"):
            values = exported[column].to_numpy(dtype=float)
            assert not np.allclose(values, truth, equal_nan=True), (name, column)
    # The oracle predicts the outcome; what was exported (without the target) does
    # not, column by column.
    assert roc_auc_score(cohort.target, cohort.oracle["latent_risk"]) > 0.9
    for column in exported.select_dtypes("number").drop(columns=cohort.target.name):
        filled = exported[column].fillna(exported[column].median())
        auroc = roc_auc_score(cohort.target, filled)
        assert abs(auroc - 0.5) + 0.5 < 0.9, column


def test_marginals_are_mimic_like(large):
    race = large.sensitive_features["race_ethnicity"].value_counts(normalize=True)
    expected = {"White": 0.66, "Black": 0.10, "Hispanic": 0.04, "Asian": 0.03}
    for group, share in expected.items():
        assert race[group] == pytest.approx(share, abs=0.005)
    assert (large.sensitive_features["sex"] == "F").mean() == pytest.approx(
        0.44, abs=0.005
    )
    assert large.target.mean() == pytest.approx(0.11, abs=0.004)
    age = large.data["age"]
    assert age.min() >= 18 and age.max() <= 91 and 60 <= age.median() <= 72
    assert set(large.sensitive_features["insurance"]) == {
        "Medicare",
        "Medicaid",
        "Other",
    }
    assert set(large.sensitive_features["age_group"]) == {
        "18-44",
        "45-64",
        "65-79",
        "80+",
    }


def test_values_lie_in_physiological_ranges(large):
    for name, (_, low, high) in NUMERIC_FEATURES.items():
        values = large.data[name].dropna()
        assert values.between(low, high).all(), name
    assert set(large.data["mechanical_ventilation"].unique()) == {0, 1}


def test_lactate_is_measured_more_often_in_patients_who_die(large):
    measured = large.data["lactate_max"].notna()
    died = large.target == 1
    assert measured[died].mean() > measured[~died].mean() + 0.15
    assert large.data["heart_rate_mean"].isna().mean() < 0.02


def test_gradient_boosting_reaches_published_mimic_auroc(large):
    X, y = large.data.iloc[:60_000], large.target.iloc[:60_000]
    encode = make_column_transformer(
        (OrdinalEncoder(), ["admission_type", "sex"]), remainder="passthrough"
    )
    model = make_pipeline(encode, HistGradientBoostingClassifier(random_state=0))
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    proba = model.fit(X_train, y_train).predict_proba(X_test)[:, 1]
    assert 0.84 <= roc_auc_score(y_test, proba) <= 0.90


def test_same_seed_same_cohort_and_different_seed_differs():
    a = make_icu_cohort(2_000, random_state=3)
    b = make_icu_cohort(2_000, random_state=3)
    c = make_icu_cohort(2_000, random_state=4)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    assert not a.frame.equals(c.frame)
    g = make_icu_cohort(2_000, random_state=np.random.default_rng(3))
    assert g.frame.shape == a.frame.shape


@settings(max_examples=10, deadline=None)
@given(
    st.floats(0.02, 0.4),
    st.lists(st.floats(0.05, 1.0), min_size=5, max_size=5),
)
def test_prevalence_and_group_proportions_are_reached(prevalence, weights):
    shares = dict(zip(GROUPS, np.array(weights) / np.sum(weights), strict=True))
    cohort = make_icu_cohort(
        40_000, prevalence=prevalence, group_proportions=shares, random_state=0
    )
    assert cohort.target.mean() == pytest.approx(prevalence, abs=0.012)
    observed = cohort.sensitive_features["race_ethnicity"].value_counts(normalize=True)
    for group, share in shares.items():
        assert observed.get(group, 0.0) == pytest.approx(share, abs=0.012)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": -5}, "n_samples"),
        ({"n_samples": 0}, "n_samples"),
        ({"prevalence": 1.2}, "prevalence"),
        ({"prevalence": 0.0}, "prevalence"),
        ({"group_proportions": {"White": 0.5, "Black": 0.4}}, "sum to 1"),
        ({"group_proportions": {"Martian": 1.0}}, "unknown groups"),
        ({"label_noise_groups": ("Purple",)}, "label_noise_groups"),
        ({"measurement_bias": -1}, "measurement_bias"),
        (
            {"prevalence": 0.95, "label_noise": 1.0, "label_noise_groups": GROUPS},
            "prevalence",
        ),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, match):
    kwargs = {"n_samples": 100, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_icu_cohort(**kwargs, random_state=0)


def _oximeter_error(cohort, group):
    frame = pd.concat([cohort.data, cohort.oracle[["sao2"]]], axis=1)
    rows = (cohort.sensitive_features["race_ethnicity"] == group) & (frame["sao2"] < 92)
    return (frame["spo2_min"] - frame["sao2"])[rows].dropna()


@pytest.mark.parametrize("bias", [0.0, 3.0])
def test_measurement_bias_shifts_spo2_of_black_patients_only(bias):
    cohort = make_icu_cohort(200_000, measurement_bias=bias, random_state=1)
    black, white = _oximeter_error(cohort, "Black"), _oximeter_error(cohort, "White")
    assert black.mean() - white.mean() == pytest.approx(bias, abs=0.25)
    if bias == 0.0:
        assert stats.ks_2samp(black, white).pvalue > 0.001


def test_without_mechanisms_groups_differ_only_in_size():
    cohort = make_icu_cohort(200_000, **NO_BIAS, random_state=2)
    race = cohort.sensitive_features["race_ethnicity"]
    black, white = (race == "Black").to_numpy(), (race == "White").to_numpy()
    for name in [*NUMERIC_FEATURES, "age"]:
        column = cohort.data[name]
        p = stats.ks_2samp(column[black].dropna(), column[white].dropna()).pvalue
        assert p > 1e-4, name
    table = pd.crosstab(race[black | white], cohort.target[black | white])
    assert stats.chi2_contingency(table).pvalue > 1e-4


def test_default_mechanisms_change_group_mortality():
    cohort = make_icu_cohort(200_000, random_state=2)
    rates = cohort.target.groupby(cohort.sensitive_features["race_ethnicity"]).mean()
    assert rates["Other/Unknown"] > rates["White"] + 0.02
    assert rates["Hispanic"] < rates["White"] - 0.02


@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_label_noise_hides_deaths_in_chosen_groups_only(noise):
    cohort = make_icu_cohort(100_000, label_noise=noise, random_state=3)
    frame, race = cohort.oracle, cohort.sensitive_features["race_ethnicity"]
    died = frame["true_mortality"] == 1
    recorded = cohort.target[died].groupby(race[died]).mean()
    assert (cohort.target <= frame["true_mortality"]).all()
    assert recorded["White"] == 1.0 and recorded["Asian"] == 1.0
    for group in ["Black", "Hispanic"]:
        assert recorded[group] == pytest.approx(1 - noise, abs=0.05)


def _renal_slope(cohort, group):
    rows = (cohort.sensitive_features["race_ethnicity"] == group).to_numpy()
    risk = cohort.oracle["latent_risk"].to_numpy()[rows]
    creatinine = cohort.data["creatinine_max"].to_numpy()[rows]
    keep = ~np.isnan(creatinine)
    return stats.linregress(
        np.log(creatinine[keep]), np.log(risk / (1 - risk))[keep]
    ).slope


@pytest.mark.parametrize("heterogeneity", [0.0, 1.0])
def test_effect_heterogeneity_changes_the_renal_effect_in_black_patients(heterogeneity):
    cohort = make_icu_cohort(
        200_000, **{**NO_BIAS, "effect_heterogeneity": heterogeneity}, random_state=4
    )
    ratio = _renal_slope(cohort, "Black") / _renal_slope(cohort, "White")
    if heterogeneity == 0.0:
        assert ratio == pytest.approx(1.0, abs=0.1)
    else:
        assert ratio < 0.85
