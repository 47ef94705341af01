"""A synthetic ICU cohort shaped like a MIMIC-IV in-hospital mortality extract."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from sklearn.utils import Bunch

from healthbalance._compat import Interval, validate_params
from healthbalance.datasets import _icu_physiology as physiology

RACE_PROPORTIONS = {
    "White": 0.66,
    "Black": 0.10,
    "Hispanic": 0.04,
    "Asian": 0.03,
    "Other/Unknown": 0.17,
}
# Baseline log-odds of death of each group relative to White, at prevalence_shift=1.
RISK_OFFSET = {
    "White": 0.0,
    "Black": -0.3,
    "Hispanic": -0.5,
    "Asian": 0.3,
    "Other/Unknown": 0.6,
}
ADMISSION_TYPES = {
    "emergency": (0.75, 0.0),
    "urgent": (0.15, -0.3),
    "elective": (0.10, -1.0),
}
AGE_GROUPS = ("18-44", "45-64", "65-79", "80+")
SENSITIVE_COLUMNS = ["race_ethnicity", "sex", "age_group", "insurance"]
TARGET = "in_hospital_mortality"
FEATURE_NAMES = [
    "admission_type",
    "age",
    "sex",
    *physiology.NUMERIC_FEATURES,
    "mechanical_ventilation",
    "vasopressors",
]
# Log-odds of death per standard deviation of each organ score, and per year of age.
ORGAN_EFFECTS = {
    "cardiovascular": 0.65,
    "respiratory": 0.5,
    "renal": 0.35,
    "neurological": 0.7,
    "infection": 0.25,
    "metabolic": 0.25,
}
AGE_EFFECT = 0.03
UNMEASURED_EFFECT = 0.3


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "prevalence": [Interval(Real, 0, 1, closed="neither")],
        "group_proportions": [dict, None],
        "prevalence_shift": [Interval(Real, 0, None, closed="left")],
        "measurement_bias": [Interval(Real, 0, 10, closed="both")],
        "effect_heterogeneity": [Interval(Real, 0, 1, closed="both")],
        "label_noise": [Interval(Real, 0, 1, closed="both")],
        "label_noise_groups": [list, tuple],
        "random_state": ["random_state", np.random.Generator],
    },
    prefer_skip_nested_validation=True,
)
def make_icu_cohort(
    n_samples=20_000,
    *,
    prevalence=0.11,
    group_proportions=None,
    prevalence_shift=1.0,
    measurement_bias=2.0,
    effect_heterogeneity=0.5,
    label_noise=0.1,
    label_noise_groups=("Black", "Hispanic"),
    random_state=None,
):
    """Generate a synthetic adult ICU cohort for in-hospital mortality prediction.

    One row per ICU stay, with the variables a MIMIC-IV extract holds for the first 24
    hours: vital signs, laboratory values, urine output and treatments, in their usual
    units and plausible ranges, with realistic missingness (lactate is drawn far more
    often in sicker patients). Death follows a latent severity model: each patient has
    an overall severity and six organ-dysfunction scores that drive both the charted
    values and the risk of death, plus an unmeasured frailty, so that gradient boosting
    reaches an AUROC in the published MIMIC-IV range (about 0.85-0.89).

    Five bias mechanisms are switched on at moderate strength by default. With
    ``prevalence_shift=0``, ``measurement_bias=0``, ``effect_heterogeneity=0`` and
    ``label_noise=0`` the race/ethnicity groups differ only in size.

    Parameters
    ----------
    n_samples : int, default=20_000
        Number of ICU stays.
    prevalence : float in (0, 1), default=0.11
        Expected share of recorded in-hospital deaths.
    group_proportions : dict of str to float, default=None
        **Under-representation.** Share of each race/ethnicity group, over the five
        groups ``"White"``, ``"Black"``, ``"Hispanic"``, ``"Asian"`` and
        ``"Other/Unknown"``; must sum to 1. ``None`` uses MIMIC-IV-like shares (66%,
        10%, 4%, 3%, 17%).
    prevalence_shift : float >= 0, default=1.0
        **Prevalence differences.** Scales each group's baseline log-odds of death
        relative to White patients (Black -0.3, Hispanic -0.5, Asian +0.3,
        Other/Unknown +0.6 at 1.0; Other/Unknown stays in MIMIC-IV have a markedly
        higher recorded mortality). ``0`` gives every group the same baseline risk.
    measurement_bias : float in [0, 10], default=2.0
        **Measurement bias.** Percentage points by which pulse oximetry (``spo2_min``)
        over-reads the true arterial saturation in Black patients, as reported for
        darker skin. The model then sees Black patients as better oxygenated than they
        are. ``0`` makes SpO2 equally accurate in every group.
    effect_heterogeneity : float in [0, 1], default=0.5
        **Group-specific feature-outcome relationships.** Fraction by which the link
        between physiology and death differs in minority groups: renal dysfunction
        weighs less in Black patients, metabolic derangement weighs more in Hispanic
        patients, and age weighs more in Asian patients. A model fitted mostly on White
        patients learns the majority's relationship. ``0`` gives every group the same.
    label_noise : float in [0, 1], default=0.1
        **Label noise (under-recording).** Share of true in-hospital deaths in
        ``label_noise_groups`` recorded as survivals (for example deaths after a
        discharge to hospice). ``0`` records every death.
    label_noise_groups : tuple of str, default=("Black", "Hispanic")
        Race/ethnicity groups whose deaths are under-recorded.
    random_state : int, numpy.random.RandomState, numpy.random.Generator or None, \
            default=None
        Seed of the generator; the same seed gives the same cohort.

    Returns
    -------
    cohort : sklearn.utils.Bunch
        With the following keys:

        - ``frame``: DataFrame of what a real extract holds: ``stay_id``, the
          features, the sensitive attributes and the target. Safe to export as the
          input of a model: it holds no oracle column.
        - ``oracle``: DataFrame of the truths no real dataset has, row-aligned with
          ``frame``: ``stay_id``, ``latent_risk`` (the true probability of death),
          ``sao2`` (the true arterial saturation) and ``true_mortality`` (the
          outcome before under-recording). Never a feature: each predicts the
          target almost perfectly.
        - ``data``: DataFrame of the model features (``feature_names``).
        - ``target``: Series ``in_hospital_mortality`` (0/1).
        - ``sensitive_features``: DataFrame with ``race_ethnicity``, ``sex``,
          ``age_group`` and ``insurance``.
        - ``feature_names``: list of the feature column names.
        - ``DESCR``: a description of the cohort.

    See Also
    --------
    load_mimic_iv : The same Bunch built from a local copy of MIMIC-IV.

    References
    ----------
    .. [1] Johnson, A. et al. "MIMIC-IV, a freely accessible electronic health record
       dataset." Scientific Data 10, 1 (2023).
    .. [2] Sjoding, M. W. et al. "Racial bias in pulse oximetry measurement." New
       England Journal of Medicine 383, 2477-2478 (2020).

    Examples
    --------
    >>> from healthbalance.datasets import make_icu_cohort
    >>> cohort = make_icu_cohort(n_samples=1_000, random_state=0)
    >>> cohort.data.shape
    (1000, 22)
    >>> sorted(cohort.sensitive_features["race_ethnicity"].unique())
    ['Asian', 'Black', 'Hispanic', 'Other/Unknown', 'White']
    >>> round(float(cohort.target.mean()), 2)
    0.11
    >>> list(cohort.oracle.columns)
    ['stay_id', 'latent_risk', 'sao2', 'true_mortality']
    """
    proportions = _check_group_proportions(group_proportions)
    _check_label_noise_groups(label_noise_groups)
    rng = _as_generator(random_state)
    people = _demographics(n_samples, proportions, rng)
    features, sao2, organs = _physiology(people, measurement_bias, rng)
    logit = _death_logit(people, organs, prevalence_shift, effect_heterogeneity, rng)
    recorded = 1.0 - label_noise * np.isin(people["race_ethnicity"], label_noise_groups)
    risk = physiology._sigmoid(logit + _intercept(logit, recorded, prevalence))
    died = rng.random(n_samples) < risk
    target = (died & (rng.random(n_samples) < recorded)).astype(np.int64)
    oracle = {
        "latent_risk": risk,
        "sao2": sao2,
        "true_mortality": died.astype(np.int64),
    }
    return _bunch(people, features, target, oracle)


def _check_group_proportions(group_proportions):
    if group_proportions is None:
        return RACE_PROPORTIONS
    unknown = set(group_proportions) - set(RACE_PROPORTIONS)
    if unknown:
        raise ValueError(
            f"group_proportions has unknown groups {sorted(unknown)}: use keys from "
            f"{list(RACE_PROPORTIONS)}."
        )
    shares = np.array([group_proportions.get(g, 0.0) for g in RACE_PROPORTIONS], float)
    if np.any(shares < 0) or not np.isclose(shares.sum(), 1.0):
        raise ValueError(
            "group_proportions must be non-negative and sum to 1, got "
            f"{group_proportions}."
        )
    return dict(zip(RACE_PROPORTIONS, shares, strict=True))


def _check_label_noise_groups(label_noise_groups):
    unknown = set(label_noise_groups) - set(RACE_PROPORTIONS)
    if unknown:
        raise ValueError(
            f"label_noise_groups has unknown groups {sorted(unknown)}: use names from "
            f"{list(RACE_PROPORTIONS)}."
        )


def _as_generator(random_state):
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)


def _draw(rng, probabilities, n):
    """Draw ``n`` category codes with the given probabilities."""
    p = np.asarray(list(probabilities), dtype=float)
    return rng.choice(p.shape[0], size=n, p=p / p.sum())


def _demographics(n, proportions, rng):
    age = np.floor(18.0 + 74.0 * rng.beta(2.8, 1.5, size=n)).clip(18, 91)
    female = rng.random(n) < 0.44
    elderly = age >= 65
    u = rng.random(n)
    insurance = np.where(
        u < np.where(elderly, 0.86, 0.12),
        "Medicare",
        np.where(u < np.where(elderly, 0.90, 0.37), "Medicaid", "Other"),
    )
    race = _draw(rng, proportions.values(), n)
    admission = _draw(rng, (p for p, _ in ADMISSION_TYPES.values()), n)
    return {
        "race_code": race,
        "race_ethnicity": np.asarray(list(proportions), dtype=object)[race],
        "sex": np.where(female, "F", "M").astype(object),
        "age": age,
        "age_group": np.asarray(AGE_GROUPS, dtype=object)[
            np.searchsorted([45, 65, 80], age, side="right")
        ],
        "insurance": insurance.astype(object),
        "admission_code": admission,
        "admission_type": np.asarray(list(ADMISSION_TYPES), dtype=object)[admission],
    }


def _physiology(people, measurement_bias, rng):
    n = people["age"].shape[0]
    admission_effect = np.array([e for _, e in ADMISSION_TYPES.values()])
    severity = rng.standard_normal(n) + admission_effect[people["admission_code"]]
    organs = physiology.organ_dysfunction(severity, rng)
    female = (people["sex"] == "F").astype(float)
    sao2 = physiology.arterial_saturation(organs, rng)
    offset = measurement_bias * (people["race_ethnicity"] == "Black")
    values = {
        **physiology.vital_signs(organs, sao2, offset, female, rng),
        **physiology.laboratory_values(organs, female, (people["age"] - 65) / 15, rng),
    }
    features = {}
    for name in physiology.NUMERIC_FEATURES:
        column = physiology.clip_to_range(name, values[name])
        column[physiology.missing_mask(name, organs, rng)] = np.nan
        features[name] = column
    features.update(physiology.treatments(organs, rng))
    return features, sao2, organs


def _death_logit(people, organs, prevalence_shift, heterogeneity, rng):
    race = people["race_ethnicity"]
    effects = {k: np.full(race.shape[0], v) for k, v in ORGAN_EFFECTS.items()}
    effects["renal"][race == "Black"] *= 1.0 - heterogeneity
    effects["metabolic"][race == "Hispanic"] *= 1.0 + 2.0 * heterogeneity
    age_effect = AGE_EFFECT * (1.0 + heterogeneity * (race == "Asian"))
    logit = age_effect * (people["age"] - 65.0)
    for organ, effect in effects.items():
        logit += effect * organs[organ]
    offset = np.array([RISK_OFFSET[g] for g in RACE_PROPORTIONS])
    logit += prevalence_shift * offset[people["race_code"]]
    return logit + UNMEASURED_EFFECT * rng.standard_normal(race.shape[0])


def _intercept(logit, recorded, prevalence):
    """Return the intercept at which the expected recorded deaths match prevalence."""

    def gap(b):
        return np.mean(physiology._sigmoid(logit + b) * recorded) - prevalence

    if gap(30.0) < 0:
        raise ValueError(
            f"prevalence={prevalence} cannot be reached when a share label_noise of "
            "the deaths is not recorded: lower prevalence or label_noise."
        )
    return brentq(gap, -30.0, 30.0, xtol=1e-10)


def _bunch(people, features, target, oracle):
    n = target.shape[0]
    data = pd.DataFrame(
        {
            "admission_type": pd.Series(people["admission_type"], dtype="str"),
            "age": people["age"],
            "sex": pd.Series(people["sex"], dtype="str"),
            **features,
        }
    )[FEATURE_NAMES]
    sensitive = pd.DataFrame(
        {c: pd.Series(people[c], dtype="str") for c in SENSITIVE_COLUMNS}
    )
    target = pd.Series(target, name=TARGET)
    stay_id = pd.DataFrame({"stay_id": np.arange(30_000_000, 30_000_000 + n)})
    frame = pd.concat([stay_id, data, sensitive.drop(columns="sex"), target], axis=1)
    return Bunch(
        frame=frame,
        oracle=pd.concat([stay_id, pd.DataFrame(oracle)], axis=1),
        data=data,
        target=target,
        sensitive_features=sensitive,
        feature_names=list(FEATURE_NAMES),
        DESCR=DESCR,
    )


DESCR = """\
Synthetic ICU cohort (healthbalance.datasets.make_icu_cohort)
------------------------------------------------------------

One row per adult ICU stay, shaped like a MIMIC-IV in-hospital mortality extract:
admission type, age, sex and the first 24 hours of vital signs (mean heart rate,
minimum mean arterial pressure, mean respiratory rate, maximum temperature, minimum
SpO2, minimum GCS), laboratory values (worst creatinine, BUN, lactate, WBC,
hemoglobin, platelets, bicarbonate, glucose, potassium; mean sodium), total urine
output (mL) and whether mechanical ventilation or vasopressors were started.

Target: in_hospital_mortality (1 = died in hospital). Sensitive attributes:
race_ethnicity (White, Black, Hispanic, Asian, Other/Unknown), sex (F, M), age_group
(18-44, 45-64, 65-79, 80+) and insurance (Medicare, Medicaid, Other).

The data are simulated: no patient's record was used. Deaths follow a latent
severity model (overall severity, six organ-dysfunction scores and an unmeasured
frailty). Five bias mechanisms are on at moderate strength by default:
under-representation (group shares), prevalence differences between groups, SpO2
over-reading in Black patients, group-specific feature-outcome relationships and
under-recorded deaths in chosen groups. The truths no real dataset has (latent_risk,
sao2 the true arterial saturation, true_mortality) are kept apart in ``oracle``, never
in ``frame`` or ``data``, so that exporting ``frame`` cannot leak them into a model.
"""
