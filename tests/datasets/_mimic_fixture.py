"""A small fake MIMIC-IV with the exact file layout and column order of the real one.

No patient's record is used: every value is drawn at random. ``make_tables`` returns
the tables as DataFrames (timestamps as datetimes) so that the tests can compute the
expected cohort independently; ``write_tables`` writes them as MIMIC-IV writes them.
Planted values mark what must never reach a feature: values charted just outside the
window, after death, or before ICU admission.
"""

import numpy as np
import pandas as pd

WINDOW = pd.Timedelta(hours=24)
# Marker values, above anything the generator draws otherwise.
PLANTED = {"temperature": 44.9, "lactate": 39.5, "urine": 4999.0}

_V22 = {
    "patients": "subject_id gender anchor_age anchor_year anchor_year_group dod",
    "admissions": (
        "subject_id hadm_id admittime dischtime deathtime admission_type "
        "admit_provider_id admission_location discharge_location insurance language "
        "marital_status race edregtime edouttime hospital_expire_flag"
    ),
    "icustays": "subject_id hadm_id stay_id first_careunit last_careunit intime "
    "outtime los",
    "chartevents": "subject_id hadm_id stay_id caregiver_id charttime storetime itemid "
    "value valuenum valueuom warning",
    "labevents": (
        "labevent_id subject_id hadm_id specimen_id itemid order_provider_id charttime "
        "storetime value valuenum valueuom ref_range_lower ref_range_upper flag "
        "priority comments"
    ),
    "outputevents": "subject_id hadm_id stay_id caregiver_id charttime storetime "
    "itemid value valueuom",
    "inputevents": (
        "subject_id hadm_id stay_id caregiver_id starttime endtime storetime itemid "
        "amount amountuom rate rateuom orderid linkorderid ordercategoryname "
        "secondaryordercategoryname ordercomponenttypedescription "
        "ordercategorydescription patientweight totalamount totalamountuom isopenbag "
        "continueinnextdept statusdescription originalamount originalrate"
    ),
    "d_items": "itemid label abbreviation linksto category unitname param_type "
    "lownormalvalue highnormalvalue",
    "d_labitems": "itemid label fluid category",
}
# v2.0: ethnicity instead of race, no provider or caregiver columns.
_V20_DROP = {"admit_provider_id", "order_provider_id", "caregiver_id"}
FOLDERS = {
    "patients": "hosp",
    "admissions": "hosp",
    "labevents": "hosp",
    "d_labitems": "hosp",
    **dict.fromkeys(
        ["icustays", "chartevents", "outputevents", "inputevents", "d_items"], "icu"
    ),
}
RACES = [
    "WHITE", "WHITE - OTHER EUROPEAN", "WHITE - RUSSIAN", "BLACK/AFRICAN AMERICAN",
    "BLACK/CAPE VERDEAN", "HISPANIC/LATINO - PUERTO RICAN", "HISPANIC OR LATINO",
    "SOUTH AMERICAN", "ASIAN", "ASIAN - CHINESE", "AMERICAN INDIAN/ALASKA NATIVE",
    "OTHER", "UNKNOWN", "UNABLE TO OBTAIN", "PATIENT DECLINED TO ANSWER", "PORTUGUESE",
]  # fmt: skip
ADMISSION_TYPES = [
    "EW EMER.", "DIRECT EMER.", "EU OBSERVATION", "OBSERVATION ADMIT", "URGENT",
    "ELECTIVE", "SURGICAL SAME DAY ADMISSION", "AMBULATORY OBSERVATION",
    "DIRECT OBSERVATION",
]  # fmt: skip
INSURANCE = {
    "2.0": ["Medicare", "Medicaid", "Other"],
    "3.1": ["Medicare", "Medicaid", "Other", "Private", "No charge"],
}
# itemid -> (label, unit, mean, sd) of the numeric chart and lab items.
CHART = {
    220045: ("Heart Rate", "bpm", 90, 20),
    220052: ("Arterial Blood Pressure mean", "mmHg", 75, 15),
    220181: ("Non Invasive Blood Pressure mean", "mmHg", 78, 15),
    225312: ("ART BP Mean", "mmHg", 74, 15),
    220210: ("Respiratory Rate", "insp/min", 19, 5),
    224690: ("Respiratory Rate (Total)", "insp/min", 20, 5),
    223761: ("Temperature Fahrenheit", "°F", 98.8, 1.4),
    223762: ("Temperature Celsius", "°C", 37.1, 0.8),
    220277: ("O2 saturation pulseoxymetry", "%", 96, 3),
    220210 + 1: ("Other chart item", "", 50, 10),
}
GCS = {220739: ("GCS - Eye Opening", 4), 223900: ("GCS - Verbal Response", 5)}
GCS[223901] = ("GCS - Motor Response", 6)
TEXT = {
    223849: ("Ventilator Mode", ["CMV/ASSIST/AutoFlow", "CPAP/PSV", "Standby"]),
    229314: ("Ventilator Mode (Hamilton)", ["APVcmv", "Standby"]),
    226732: ("O2 Delivery Device(s)", ["Nasal cannula", "Endotracheal tube"]),
}
LABS = {
    50912: ("Creatinine", "mg/dL", 1.4, 1.0),
    51006: ("Urea Nitrogen", "mg/dL", 28, 15),
    50813: ("Lactate", "mmol/L", 2.2, 1.5),
    51301: ("White Blood Cells", "K/uL", 11, 5),
    51300: ("WBC Count", "K/uL", 11, 5),
    51222: ("Hemoglobin", "g/dL", 10.5, 2),
    50811: ("Hemoglobin", "g/dL", 10.5, 2),
    51265: ("Platelet Count", "K/uL", 200, 80),
    50983: ("Sodium", "mEq/L", 139, 4),
    50824: ("Sodium, Whole Blood", "mEq/L", 138, 4),
    50971: ("Potassium", "mEq/L", 4.2, 0.6),
    50822: ("Potassium, Whole Blood", "mEq/L", 4.1, 0.6),
    50882: ("Bicarbonate", "mEq/L", 24, 4),
    50931: ("Glucose", "mg/dL", 140, 50),
    50809: ("Glucose", "mg/dL", 140, 50),
    50960: ("Magnesium", "mg/dL", 2.0, 0.3),
}
URINE = [226559, 226560, 226561, 226584, 226563, 226564, 226565, 226567, 226557,
         226558, 227489]  # fmt: skip
OTHER_OUTPUT, IRRIGANT_IN = 226588, 227488
VASOPRESSORS = [221906, 221289, 221662, 222315, 221749]
OTHER_INPUT = 225158


def columns(version):
    """Return ``{table: [columns]}`` of a MIMIC-IV version ("2.0", "2.2", "3.1")."""
    out = {name: spec.split() for name, spec in _V22.items()}
    if version == "2.0":
        out = {n: [c for c in cols if c not in _V20_DROP] for n, cols in out.items()}
        out["admissions"] = [
            "ethnicity" if c == "race" else c for c in out["admissions"]
        ]
    return out


def make_tables(version="3.1", n_subjects=200, seed=0):
    """Return the fake MIMIC-IV tables as DataFrames (all columns of ``columns``)."""
    rng = np.random.default_rng(seed)
    patients = _patients(rng, n_subjects)
    admissions = _admissions(rng, patients, version)
    icustays = _icustays(rng, admissions)
    _plant_deaths(rng, admissions, icustays)
    tables = {
        "patients": patients,
        "admissions": admissions,
        "icustays": icustays,
        "chartevents": _chartevents(rng, icustays, admissions),
        "labevents": _labevents(rng, icustays),
        "outputevents": _outputevents(rng, icustays),
        "inputevents": _inputevents(rng, icustays),
        **_dictionaries(),
    }
    if version == "2.0":
        tables["admissions"] = admissions.rename(columns={"race": "ethnicity"})
    cols = columns(version)
    return {name: _complete(frame, cols[name]) for name, frame in tables.items()}


def write_tables(root, tables, *, compress=True):
    """Write the tables as ``root/hosp|icu/<table>.csv[.gz]``, as MIMIC-IV does."""
    for name, frame in tables.items():
        folder = root / FOLDERS[name]
        folder.mkdir(parents=True, exist_ok=True)
        out = frame.copy()
        for column in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[column]):
                out[column] = out[column].dt.strftime("%Y-%m-%d %H:%M:%S")
        if compress:
            gzip = {"method": "gzip", "compresslevel": 1, "mtime": 0}
            out.to_csv(folder / f"{name}.csv.gz", index=False, compression=gzip)
        else:
            out.to_csv(folder / f"{name}.csv", index=False)
    return root


def _complete(frame, cols):
    """Add the columns the loader does not read (filled with plausible dummies)."""
    frame = frame.copy()
    for column in cols:
        if column not in frame.columns:
            frame[column] = _dummy(column, frame)
    return frame[cols].reset_index(drop=True)


def _dummy(column, frame):
    n = frame.shape[0]
    if column == "storetime":
        time = frame["charttime"] if "charttime" in frame else frame["starttime"]
        return time + pd.Timedelta(minutes=7)
    if column.endswith("_id") or column in ("orderid", "linkorderid", "warning"):
        return pd.array(np.arange(n) % 97, dtype="Int64")
    return pd.Series([pd.NA] * n, dtype="object")


def _times(base, hours):
    seconds = np.round(np.asarray(hours, dtype=float) * 3600)
    return pd.to_datetime(base) + pd.to_timedelta(seconds, unit="s")


def _patients(rng, n):
    return pd.DataFrame(
        {
            "subject_id": 10_000_000 + np.arange(n),
            "gender": rng.choice(["F", "M"], n),
            "anchor_age": rng.integers(15, 92, n),
            "anchor_year": rng.integers(2110, 2190, n),
            "anchor_year_group": "2014 - 2016",
        }
    )


def _admissions(rng, patients, version):
    subject = np.repeat(patients["subject_id"], rng.choice([1, 2], len(patients)))
    n = subject.shape[0]
    year = patients.set_index("subject_id").loc[subject, "anchor_year"].to_numpy()
    year = year + rng.integers(0, 3, n)
    start = pd.to_datetime([f"{y}-01-01" for y in year])
    return pd.DataFrame(
        {
            "subject_id": subject.to_numpy(),
            "hadm_id": 20_000_000 + np.arange(n),
            "admittime": _times(start, rng.uniform(0, 8000, n)),
            "admission_type": rng.choice(ADMISSION_TYPES, n),
            "insurance": rng.choice(INSURANCE["2.0" if version == "2.0" else "3.1"], n),
            "race": rng.choice(RACES, n),
            "hospital_expire_flag": (rng.random(n) < 0.2).astype(int),
        }
    )


def _icustays(rng, admissions):
    rows = []
    for adm in admissions.itertuples():
        intime = adm.admittime + pd.Timedelta(hours=rng.uniform(1, 48))
        for _ in range(rng.choice([1, 1, 1, 2])):
            los = rng.uniform(6, 120)
            outtime = intime + pd.Timedelta(hours=los)
            rows.append((adm.subject_id, adm.hadm_id, intime.round("s"),
                         outtime.round("s"), los / 24))  # fmt: skip
            intime = outtime + pd.Timedelta(hours=rng.uniform(12, 72))
    stays = pd.DataFrame(
        rows, columns=["subject_id", "hadm_id", "intime", "outtime", "los"]
    )
    stays.insert(2, "stay_id", 30_000_000 + rng.permutation(len(stays)))
    stays["first_careunit"] = stays["last_careunit"] = "Medical Intensive Care Unit"
    return stays


def _plant_deaths(rng, admissions, icustays):
    """Set discharge and death times; some deaths fall inside the first window."""
    last_out = icustays.groupby("hadm_id")["outtime"].max()
    first_in = icustays.groupby("hadm_id")["intime"].min()
    out = last_out.reindex(admissions["hadm_id"]).to_numpy()
    dischtime = _times(out, rng.uniform(2, 200, len(admissions)))
    died = admissions["hospital_expire_flag"].to_numpy() == 1
    early = died & (rng.random(len(admissions)) < 0.25)
    in_window = first_in.reindex(admissions["hadm_id"]).to_numpy()
    dischtime = dischtime.where(
        ~early, _times(in_window, rng.uniform(2, 20, early.size))
    )
    admissions["dischtime"] = dischtime
    admissions["deathtime"] = dischtime.where(died)
    # One recorded death without a deathtime, for the cross-check.
    admissions.loc[np.flatnonzero(died)[0], "deathtime"] = pd.NaT


def _events(rng, icustays, n_mean, before=6, after=12):
    """Random (stay row, offset in hours) pairs around each stay's window."""
    counts = rng.poisson(n_mean, len(icustays))
    stay = np.repeat(np.arange(len(icustays)), counts)
    hours = rng.uniform(-before, 24 + after, stay.shape[0])
    return stay, hours


def _chartevents(rng, icustays, admissions):
    parts = []
    for itemid, (_, unit, mean, sd) in CHART.items():
        stay, hours = _events(rng, icustays, rng.choice([1, 4, 8]))
        values = np.round(rng.normal(mean, sd, stay.shape[0]), 1)
        values[rng.random(values.shape[0]) < 0.02] = -1.0  # charting errors
        parts.append(_chart_rows(icustays, stay, hours, itemid, values, unit))
    parts += _gcs(rng, icustays) + _text(rng, icustays) + _planted_chart(icustays)
    parts.append(_after_death(icustays, admissions))
    return pd.concat(parts, ignore_index=True)


def _chart_rows(icustays, stay, hours, itemid, values, unit, text=None):
    rows = icustays.iloc[stay]
    values = np.asarray(values, dtype=float)
    return pd.DataFrame(
        {
            "subject_id": rows["subject_id"].to_numpy(),
            "hadm_id": rows["hadm_id"].to_numpy(),
            "stay_id": rows["stay_id"].to_numpy(),
            "charttime": _times(rows["intime"].to_numpy(), hours),
            "itemid": itemid,
            "value": text if text is not None else [f"{v:g}" for v in values],
            "valuenum": values,
            "valueuom": unit,
        }
    )


def _gcs(rng, icustays):
    stay, hours = _events(rng, icustays, 3)
    parts = []
    for itemid, (_, top) in GCS.items():
        keep = rng.random(stay.shape[0]) < 0.9  # some times lack a component
        values = rng.integers(1, top + 1, stay.shape[0])
        parts.append(
            _chart_rows(icustays, stay[keep], hours[keep], itemid, values[keep], "")
        )
    return parts


def _text(rng, icustays):
    parts = []
    for itemid, (_, choices) in TEXT.items():
        stay, hours = _events(rng, icustays, 1.5)
        text = rng.choice(choices, stay.shape[0])
        nan = np.full(stay.shape[0], np.nan)
        parts.append(_chart_rows(icustays, stay, hours, itemid, nan, "", text))
    return parts


def _planted_chart(icustays):
    """Extreme temperatures just outside the window, and one exactly at intime."""
    n = np.arange(len(icustays))
    hot = np.full(n.size, PLANTED["temperature"])
    return [
        _chart_rows(icustays, n, np.full(n.size, 24.0), 223762, hot, ""),
        _chart_rows(icustays, n, np.full(n.size, -1 / 3600), 223762, hot, ""),
        _chart_rows(icustays, n, np.zeros(n.size), 220045, np.full(n.size, 31.0), ""),
    ]  # fmt: skip


def _after_death(icustays, admissions):
    """Extreme temperatures one minute after each in-hospital death."""
    death = admissions.set_index("hadm_id")["dischtime"].where(
        admissions.set_index("hadm_id")["hospital_expire_flag"] == 1
    )
    after = (
        death.reindex(icustays["hadm_id"]).to_numpy() - icustays["intime"].to_numpy()
    )
    hours = pd.to_timedelta(after).total_seconds().to_numpy() / 3600 + 1 / 60
    stay = np.flatnonzero(~np.isnan(hours))
    values = np.full(stay.size, PLANTED["temperature"])
    return _chart_rows(icustays, stay, hours[stay], 223762, values, "°C")


def _labevents(rng, icustays):
    parts = []
    for itemid, (_, unit, mean, sd) in LABS.items():
        stay, hours = _events(rng, icustays, rng.choice([1, 3]), before=12)
        values = np.round(np.abs(rng.normal(mean, sd, stay.shape[0])), 2)
        parts.append(_lab_rows(rng, icustays, stay, hours, itemid, values, unit))
    n = np.arange(len(icustays))
    lactate = np.full(n.size, PLANTED["lactate"])
    parts.append(_lab_rows(rng, icustays, n, np.full(n.size, 24.0), 50813, lactate, ""))
    labs = pd.concat(parts, ignore_index=True)
    labs.insert(0, "labevent_id", np.arange(labs.shape[0]))
    return labs


def _lab_rows(rng, icustays, stay, hours, itemid, values, unit):
    rows = icustays.iloc[stay]
    hadm = rows["hadm_id"].astype("Int64").array.copy()
    hadm[rng.random(stay.shape[0]) < 0.2] = pd.NA  # labs without an admission
    return pd.DataFrame(
        {
            "subject_id": rows["subject_id"].to_numpy(),
            "hadm_id": hadm,
            "itemid": itemid,
            "charttime": _times(rows["intime"].to_numpy(), hours),
            "value": [f"{v:g}" for v in values],
            "valuenum": values,
            "valueuom": unit,
        }
    )


def _outputevents(rng, icustays):
    stay, hours = _events(rng, icustays, 10)
    itemid = rng.choice([*URINE, OTHER_OUTPUT, IRRIGANT_IN], stay.shape[0])
    values = np.round(rng.uniform(0, 400, stay.shape[0]))
    n = np.arange(len(icustays))
    stay = np.concatenate([stay, n])
    hours = np.concatenate([hours, np.full(n.size, 24 + 1 / 60)])
    itemid = np.concatenate([itemid, np.full(n.size, URINE[0])])
    values = np.concatenate([values, np.full(n.size, PLANTED["urine"])])
    rows = icustays.iloc[stay]
    return pd.DataFrame(
        {
            "subject_id": rows["subject_id"].to_numpy(),
            "hadm_id": rows["hadm_id"].to_numpy(),
            "stay_id": rows["stay_id"].to_numpy(),
            "charttime": _times(rows["intime"].to_numpy(), hours),
            "itemid": itemid,
            "value": values,
            "valueuom": "ml",
        }
    )


def _inputevents(rng, icustays):
    stay, hours = _events(rng, icustays, 0.6, before=10, after=4)
    itemid = rng.choice([*VASOPRESSORS, OTHER_INPUT], stay.shape[0])
    duration = rng.uniform(0.2, 8, stay.shape[0])
    amount = np.where(
        rng.random(stay.shape[0]) < 0.1, 0.0, rng.uniform(0.1, 5, stay.shape[0])
    )
    rows = icustays.iloc[stay]
    start = _times(rows["intime"].to_numpy(), hours)
    return pd.DataFrame(
        {
            "subject_id": rows["subject_id"].to_numpy(),
            "hadm_id": rows["hadm_id"].to_numpy(),
            "stay_id": rows["stay_id"].to_numpy(),
            "starttime": start,
            "endtime": _times(start, duration),
            "itemid": itemid,
            "amount": np.round(amount, 3),
            "amountuom": "mg",
            "statusdescription": "FinishedRunning",
        }
    )


def _dictionaries():
    chart = {i: (label, unit) for i, (label, unit, _, _) in CHART.items()}
    chart |= {i: (label, "") for i, (label, _) in {**GCS, **TEXT}.items()}
    d_items = pd.DataFrame(
        [(i, label, label[:10], "chartevents", "Routine Vital Signs", unit, "Numeric")
         for i, (label, unit) in chart.items()],
        columns=["itemid", "label", "abbreviation", "linksto", "category", "unitname",
                 "param_type"],
    )  # fmt: skip
    d_labitems = pd.DataFrame(
        [(i, label, "Blood", "Chemistry") for i, (label, *_) in LABS.items()],
        columns=["itemid", "label", "fluid", "category"],
    )
    return {"d_items": d_items, "d_labitems": d_labitems}
