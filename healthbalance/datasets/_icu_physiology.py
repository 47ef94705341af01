"""Physiology of the synthetic ICU cohort: from latent organ dysfunction to features.

Each patient has a latent severity and six organ-system dysfunction scores (standard
normal when the patient is average). Every observed variable is a noisy, clipped
function of these scores in its usual unit, as charted in the first 24 hours of an ICU
stay in MIMIC-IV. Keeping the mapping here leaves ``_icu_cohort.py`` with the
population, the outcome and the bias mechanisms.
"""

import numpy as np

# name -> (unit, plausible range); the order is the order of the features.
NUMERIC_FEATURES = {
    "heart_rate_mean": ("beats/min", 30.0, 200.0),
    "mean_arterial_pressure_min": ("mmHg", 20.0, 140.0),
    "respiratory_rate_mean": ("breaths/min", 5.0, 50.0),
    "temperature_max": ("degC", 33.0, 42.5),
    "spo2_min": ("%", 50.0, 100.0),
    "gcs_min": ("points", 3.0, 15.0),
    "creatinine_max": ("mg/dL", 0.2, 15.0),
    "bun_max": ("mg/dL", 2.0, 200.0),
    "lactate_max": ("mmol/L", 0.3, 20.0),
    "wbc_max": ("K/uL", 0.1, 100.0),
    "hemoglobin_min": ("g/dL", 3.5, 18.0),
    "platelets_min": ("K/uL", 5.0, 1000.0),
    "sodium_mean": ("mEq/L", 115.0, 165.0),
    "potassium_max": ("mEq/L", 2.0, 8.0),
    "bicarbonate_min": ("mEq/L", 5.0, 45.0),
    "glucose_max": ("mg/dL", 40.0, 1000.0),
    "urine_output_24h": ("mL", 0.0, 8000.0),
}

# Probability that a variable was not charted in the first 24 hours, when it does not
# depend on the patient's state (lactate's does: see ``missing_mask``).
MISSING_RATE = {
    "heart_rate_mean": 0.005,
    "mean_arterial_pressure_min": 0.01,
    "respiratory_rate_mean": 0.005,
    "temperature_max": 0.02,
    "spo2_min": 0.01,
    "gcs_min": 0.04,
    "creatinine_max": 0.03,
    "bun_max": 0.03,
    "wbc_max": 0.04,
    "hemoglobin_min": 0.03,
    "platelets_min": 0.04,
    "sodium_mean": 0.03,
    "potassium_max": 0.03,
    "bicarbonate_min": 0.04,
    "glucose_max": 0.03,
    "urine_output_24h": 0.08,
}

ORGANS = (
    "cardiovascular",
    "respiratory",
    "renal",
    "neurological",
    "infection",
    "metabolic",
)


def organ_dysfunction(severity, rng):
    """Draw the six organ scores, each correlated with the overall severity."""
    n = severity.shape[0]
    noise = rng.standard_normal((len(ORGANS), n))
    return {organ: 0.7 * severity + 0.7 * noise[i] for i, organ in enumerate(ORGANS)}


def arterial_saturation(organs, rng):
    """Draw the true arterial saturation (SaO2, %), low in respiratory failure."""
    deficit = np.exp(
        1.0
        + 0.55 * organs["respiratory"]
        + 0.35 * rng.standard_normal(organs["respiratory"].shape[0])
    )
    return np.clip(100.0 - deficit, 60.0, 100.0)


def vital_signs(organs, sao2, spo2_offset, female, rng):
    """Heart rate, blood pressure, breathing, temperature, SpO2 and GCS."""
    cv, resp, neuro = (
        organs["cardiovascular"],
        organs["respiratory"],
        organs["neurological"],
    )
    inf = organs["infection"]
    n = cv.shape[0]
    z = rng.standard_normal((6, n))
    gcs_drop = np.maximum(0.0, 2.5 * neuro + 1.5 * z[5] - 1.0)
    return {
        "heart_rate_mean": 86.0 + 7.0 * cv + 5.0 * inf - 2.0 * female + 9.0 * z[0],
        "mean_arterial_pressure_min": 64.0 - 7.0 * cv + 8.0 * z[1],
        "respiratory_rate_mean": 19.5 + 2.5 * resp + 0.8 * inf + 3.0 * z[2],
        "temperature_max": 37.5 + 0.45 * inf + 0.5 * z[3],
        "spo2_min": sao2 + spo2_offset + 1.5 * z[4],
        "gcs_min": np.round(15.0 - gcs_drop),
    }


def laboratory_values(organs, female, age_z, rng):
    """Chemistry and blood counts, log-normal where the lab value is skewed."""
    cv, ren, inf, met = (
        organs[k] for k in ("cardiovascular", "renal", "infection", "metabolic")
    )
    n = cv.shape[0]
    z = rng.standard_normal((11, n))
    return {
        "creatinine_max": np.exp(0.15 + 0.45 * ren - 0.2 * female + 0.3 * z[0]),
        "bun_max": np.exp(3.05 + 0.45 * ren + 0.12 * age_z + 0.3 * z[1]),
        "lactate_max": np.exp(0.55 + 0.4 * cv + 0.15 * inf + 0.35 * z[2]),
        "wbc_max": np.exp(2.45 + 0.25 * inf + 0.35 * z[3]),
        "hemoglobin_min": 10.6 - 0.5 * cv - 0.9 * female + 1.6 * z[4],
        "platelets_min": np.exp(5.3 - 0.2 * inf - 0.15 * cv + 0.45 * z[5]),
        "sodium_mean": 139.0 + 0.6 * met + 3.5 * z[6],
        "potassium_max": 4.3 + 0.3 * ren + 0.5 * z[7],
        "bicarbonate_min": 22.5 - 1.5 * met - 1.0 * ren + 3.0 * z[8],
        "glucose_max": np.exp(5.05 + 0.15 * met + 0.3 * z[9]),
        "urine_output_24h": np.exp(7.4 - 0.45 * ren - 0.2 * cv + 0.5 * z[10]),
    }


def treatments(organs, rng):
    """Mechanical ventilation and vasopressors in the first 24 hours (0/1)."""
    n = organs["respiratory"].shape[0]
    logit_vent = -0.9 + 1.0 * organs["respiratory"] + 0.8 * organs["neurological"]
    logit_vaso = -1.7 + 1.3 * organs["cardiovascular"]
    u = rng.random((2, n))
    return {
        "mechanical_ventilation": (u[0] < _sigmoid(logit_vent)).astype(np.int64),
        "vasopressors": (u[1] < _sigmoid(logit_vaso)).astype(np.int64),
    }


def missing_mask(name, organs, rng):
    """Return rows where ``name`` was not charted (lactate: more often if healthy)."""
    n = organs["cardiovascular"].shape[0]
    if name == "lactate_max":
        measured = _sigmoid(
            -0.2 + 1.3 * organs["cardiovascular"] + 0.6 * organs["infection"]
        )
        return rng.random(n) >= measured
    return rng.random(n) < MISSING_RATE[name]


def clip_to_range(name, values):
    """Clip a variable to its plausible range."""
    _, low, high = NUMERIC_FEATURES[name]
    return np.clip(values, low, high)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))
