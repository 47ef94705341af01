"""What :func:`load_mimic_iv` reads from MIMIC-IV: item ids, units, ranges, mappings.

Everything clinical the loader decides lives in this module, so that a reviewer can
check it in one place:

- ``ITEMS``: the one item-id table. One row per MIMIC-IV ``itemid`` with the feature it
  feeds, the table it comes from, its unit, a linear conversion to the feature's unit
  (``value * scale + shift``) and the plausible range (in the feature's unit) outside
  which a value is treated as a charting error and dropped.
- ``TABLES``: the files the loader reads and the columns it needs from each.
- the mappings of ``admissions.race``, ``admissions.insurance`` and
  ``admissions.admission_type`` onto the groups of
  :func:`~healthbalance.datasets.make_icu_cohort`.
"""

from typing import NamedTuple

import numpy as np
import pandas as pd

from healthbalance.datasets._icu_physiology import NUMERIC_FEATURES


class Item(NamedTuple):
    """One MIMIC-IV item feeding one feature."""

    feature: str
    source: str
    itemid: int
    label: str
    unit: str
    scale: float = 1.0
    shift: float = 0.0
    low: float = -np.inf
    high: float = np.inf


_F_TO_C = (5.0 / 9.0, -32.0 * 5.0 / 9.0)
_HR, _MAP, _RR = (20, 300), (10, 250), (1, 80)

ITEMS = (
    # chartevents: vital signs (MetaVision item ids, MIMIC-IV d_items).
    Item("heart_rate_mean", "chartevents", 220045, "Heart Rate", "bpm", 1, 0, *_HR),
    Item("mean_arterial_pressure_min", "chartevents", 220052,
         "Arterial Blood Pressure mean", "mmHg", 1, 0, *_MAP),
    Item("mean_arterial_pressure_min", "chartevents", 220181,
         "Non Invasive Blood Pressure mean", "mmHg", 1, 0, *_MAP),
    Item("mean_arterial_pressure_min", "chartevents", 225312, "ART BP Mean", "mmHg",
         1, 0, *_MAP),
    Item("respiratory_rate_mean", "chartevents", 220210, "Respiratory Rate",
         "insp/min", 1, 0, *_RR),
    Item("respiratory_rate_mean", "chartevents", 224690, "Respiratory Rate (Total)",
         "insp/min", 1, 0, *_RR),
    Item("temperature_max", "chartevents", 223761, "Temperature Fahrenheit", "°F",
         *_F_TO_C, 25, 45),
    Item("temperature_max", "chartevents", 223762, "Temperature Celsius", "°C",
         1, 0, 25, 45),
    Item("spo2_min", "chartevents", 220277, "O2 saturation pulseoxymetry", "%",
         1, 0, 1, 100),
    # GCS: the three components charted at the same time are summed (3-15).
    Item("gcs_min", "chartevents", 220739, "GCS - Eye Opening", "points", 1, 0, 1, 4),
    Item("gcs_min", "chartevents", 223900, "GCS - Verbal Response", "points",
         1, 0, 1, 5),
    Item("gcs_min", "chartevents", 223901, "GCS - Motor Response", "points",
         1, 0, 1, 6),
    # chartevents: text items; any qualifying row in the window sets the flag.
    Item("mechanical_ventilation", "chartevents", 223849, "Ventilator Mode", "text"),
    Item("mechanical_ventilation", "chartevents", 229314,
         "Ventilator Mode (Hamilton)", "text"),
    Item("mechanical_ventilation", "chartevents", 226732, "O2 Delivery Device(s)",
         "text"),
    # labevents (MIMIC-IV d_labitems), blood only.
    Item("creatinine_max", "labevents", 50912, "Creatinine", "mg/dL", 1, 0, 0.05, 40),
    Item("bun_max", "labevents", 51006, "Urea Nitrogen", "mg/dL", 1, 0, 1, 300),
    Item("lactate_max", "labevents", 50813, "Lactate", "mmol/L", 1, 0, 0.1, 40),
    Item("wbc_max", "labevents", 51301, "White Blood Cells", "K/uL", 1, 0, 0, 1000),
    Item("wbc_max", "labevents", 51300, "WBC Count", "K/uL", 1, 0, 0, 1000),
    Item("hemoglobin_min", "labevents", 51222, "Hemoglobin", "g/dL", 1, 0, 1, 25),
    Item("hemoglobin_min", "labevents", 50811, "Hemoglobin (blood gas)", "g/dL",
         1, 0, 1, 25),
    Item("platelets_min", "labevents", 51265, "Platelet Count", "K/uL", 1, 0, 1, 3000),
    Item("sodium_mean", "labevents", 50983, "Sodium", "mEq/L", 1, 0, 90, 200),
    Item("sodium_mean", "labevents", 50824, "Sodium, Whole Blood", "mEq/L",
         1, 0, 90, 200),
    Item("potassium_max", "labevents", 50971, "Potassium", "mEq/L", 1, 0, 1, 15),
    Item("potassium_max", "labevents", 50822, "Potassium, Whole Blood", "mEq/L",
         1, 0, 1, 15),
    Item("bicarbonate_min", "labevents", 50882, "Bicarbonate", "mEq/L", 1, 0, 2, 60),
    Item("glucose_max", "labevents", 50931, "Glucose", "mg/dL", 1, 0, 5, 2500),
    Item("glucose_max", "labevents", 50809, "Glucose (blood gas)", "mg/dL",
         1, 0, 5, 2500),
    # outputevents: urine (mimic-code's urine_output items); irrigant in is negative.
    *(
        Item("urine_output_24h", "outputevents", itemid, label, "mL", 1, 0, 0, 5000)
        for itemid, label in (
            (226559, "Foley"),
            (226560, "Void"),
            (226561, "Condom Cath"),
            (226584, "Ileoconduit"),
            (226563, "Suprapubic"),
            (226564, "R Nephrostomy"),
            (226565, "L Nephrostomy"),
            (226567, "Straight Cath"),
            (226557, "R Ureteral Stent"),
            (226558, "L Ureteral Stent"),
            (227489, "GU Irrigant/Urine Volume Out"),
        )
    ),
    Item("urine_output_24h", "outputevents", 227488, "GU Irrigant Volume In", "mL",
         -1, 0, -5000, 0),
    # inputevents: vasopressor infusions overlapping the window.
    *(
        Item("vasopressors", "inputevents", itemid, label, "any")
        for itemid, label in (
            (221906, "Norepinephrine"),
            (221289, "Epinephrine"),
            (221662, "Dopamine"),
            (222315, "Vasopressin"),
            (221749, "Phenylephrine"),
        )
    ),
)  # fmt: skip

# Statistic behind each numeric feature, read from its name; the urine total travels in
# the "max" column of the aggregates.
NUMERIC_STATS = {
    name: "max" if name == "urine_output_24h" else name.rsplit("_", 1)[1]
    for name in NUMERIC_FEATURES
}

# Ventilator-mode values that are not invasive ventilation, and the oxygen delivery
# devices that are (an airway in place).
NOT_VENTILATED_MODES = ("Standby",)
INVASIVE_DEVICES = ("Endotracheal tube", "Tracheostomy tube")

# Columns the loader reads from each file, by folder. A version-specific alternative
# is written "race|ethnicity" (v2.2+ | v2.0).
TABLES = {
    "patients": ("hosp", ["subject_id", "gender", "anchor_age", "anchor_year"]),
    "admissions": (
        "hosp",
        [
            "subject_id",
            "hadm_id",
            "admittime",
            "dischtime",
            "deathtime",
            "admission_type",
            "insurance",
            "race|ethnicity",
            "hospital_expire_flag",
        ],
    ),
    "icustays": ("icu", ["subject_id", "hadm_id", "stay_id", "intime", "outtime"]),
    "chartevents": (
        "icu",
        ["stay_id", "charttime", "itemid", "value", "valuenum"],
    ),
    "labevents": ("hosp", ["subject_id", "charttime", "itemid", "valuenum"]),
    "outputevents": ("icu", ["stay_id", "charttime", "itemid", "value"]),
    "inputevents": ("icu", ["stay_id", "starttime", "endtime", "itemid", "amount"]),
}


def items_frame():
    """Return ``ITEMS`` as a DataFrame, one row per item id."""
    return pd.DataFrame(ITEMS, columns=Item._fields)


def map_race(race):
    """Map MIMIC-IV ``race`` (or v2.0 ``ethnicity``) strings onto five groups.

    ``WHITE...`` -> White, ``BLACK...`` -> Black, ``HISPANIC...`` and ``SOUTH
    AMERICAN`` -> Hispanic, ``ASIAN...`` -> Asian; everything else (``AMERICAN
    INDIAN/ALASKA NATIVE``, ``NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER``, ``MULTIPLE
    RACE/ETHNICITY``, ``PORTUGUESE``, ``OTHER``, ``UNKNOWN``, ``UNABLE TO OBTAIN``,
    ``PATIENT DECLINED TO ANSWER``, missing) -> Other/Unknown.

    Examples
    --------
    >>> from healthbalance.datasets._mimic_items import map_race
    >>> map_race(["WHITE - RUSSIAN", "SOUTH AMERICAN", "UNABLE TO OBTAIN"]).tolist()
    ['White', 'Hispanic', 'Other/Unknown']
    """
    race = pd.Series(race, dtype="str").str.strip().str.upper()
    rules = [
        (race.str.startswith("WHITE"), "White"),
        (race.str.startswith("BLACK"), "Black"),
        (race.str.startswith("HISPANIC") | (race == "SOUTH AMERICAN"), "Hispanic"),
        (race.str.startswith("ASIAN"), "Asian"),
    ]
    return _first_match(rules, "Other/Unknown", race.index)


def map_insurance(insurance):
    """Map ``admissions.insurance`` onto Medicare, Medicaid and Other.

    v3.x adds ``Private`` and ``No charge``; they and missing values become Other.
    """
    insurance = pd.Series(insurance, dtype="str").str.strip().str.lower()
    rules = [
        (insurance == "medicare", "Medicare"),
        (insurance == "medicaid", "Medicaid"),
    ]
    return _first_match(rules, "Other", insurance.index)


def map_admission_type(admission_type):
    """Map ``admissions.admission_type`` onto emergency, urgent and elective.

    ``ELECTIVE``, ``SURGICAL SAME DAY ADMISSION`` and ``AMBULATORY OBSERVATION`` ->
    elective; ``URGENT`` -> urgent; everything else (``EW EMER.``, ``DIRECT EMER.``,
    ``EU OBSERVATION``, ``OBSERVATION ADMIT``, ``DIRECT OBSERVATION``) -> emergency.
    """
    kind = pd.Series(admission_type, dtype="str").str.strip().str.upper()
    elective = ["ELECTIVE", "SURGICAL SAME DAY ADMISSION", "AMBULATORY OBSERVATION"]
    rules = [(kind.isin(elective), "elective"), (kind == "URGENT", "urgent")]
    return _first_match(rules, "emergency", kind.index)


def map_age_group(age):
    """Return the age groups 18-44, 45-64, 65-79 and 80+ of ages in years."""
    labels = np.asarray(["18-44", "45-64", "65-79", "80+"], dtype=object)
    age = np.asarray(age, dtype=float)
    return pd.Series(
        labels[np.searchsorted([45, 65, 80], age, side="right")], dtype="str"
    )


def _first_match(rules, default, index):
    conditions = [cond.fillna(False).to_numpy(dtype=bool) for cond, _ in rules]
    labels = np.select(conditions, [label for _, label in rules], default)
    return pd.Series(labels, index=index, dtype="str")
