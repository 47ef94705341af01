"""Brute-force pandas reference of the MIMIC-IV cohort, from the fixture's tables.

Written from the cohort definition in ``load_mimic_iv``'s docstring, independently of
its SQL: plain pandas on the in-memory tables, one feature at a time. Item ids,
conversions and ranges are the specification, spelled out here again.
"""

import numpy as np
import pandas as pd

# feature -> {itemid: (scale, shift, low, high)}
CHART = {
    "heart_rate_mean": {220045: (1, 0, 20, 300)},
    "mean_arterial_pressure_min": dict.fromkeys(
        [220052, 220181, 225312], (1, 0, 10, 250)
    ),
    "respiratory_rate_mean": dict.fromkeys([220210, 224690], (1, 0, 1, 80)),
    "temperature_max": {223761: (5 / 9, -160 / 9, 25, 45), 223762: (1, 0, 25, 45)},
    "spo2_min": {220277: (1, 0, 1, 100)},
}
GCS_RANGES = {220739: (1, 4), 223900: (1, 5), 223901: (1, 6)}
LABS = {
    "creatinine_max": ([50912], 0.05, 40),
    "bun_max": ([51006], 1, 300),
    "lactate_max": ([50813], 0.1, 40),
    "wbc_max": ([51301, 51300], 0, 1000),
    "hemoglobin_min": ([51222, 50811], 1, 25),
    "platelets_min": ([51265], 1, 3000),
    "sodium_mean": ([50983, 50824], 90, 200),
    "potassium_max": ([50971, 50822], 1, 15),
    "bicarbonate_min": ([50882], 2, 60),
    "glucose_max": ([50931, 50809], 5, 2500),
}
URINE = [226559, 226560, 226561, 226584, 226563, 226564, 226565, 226567, 226557,
         226558, 227489]  # fmt: skip
VASOPRESSORS = [221906, 221289, 221662, 222315, 221749]


def cohort(tables, window_hours=24, min_age=18, stays="first"):
    """Return the expected cohort: one row per stay with ``start`` and ``end``."""
    st = tables["icustays"].merge(
        tables["admissions"].drop(columns="subject_id"), on="hadm_id"
    )
    st = st.merge(tables["patients"], on="subject_id")
    st["age"] = st["anchor_age"] + st["admittime"].dt.year - st["anchor_year"]
    if stays == "first":
        first = st.sort_values(["intime", "stay_id"]).groupby("hadm_id").head(1)
        st = st[st["stay_id"].isin(first["stay_id"])]
    window = pd.Timedelta(hours=window_hours)
    st = st[(st["age"] >= min_age) & (st["outtime"] - st["intime"] >= window)].copy()
    ends = [st["intime"] + window, st["outtime"], st["dischtime"], st["deathtime"]]
    st["start"] = st["intime"]
    st["end"] = pd.concat(ends, axis=1).min(axis=1, skipna=True)
    return st.sort_values("stay_id").reset_index(drop=True)


def _in_window(events, expected, time="charttime", on="stay_id"):
    keys = expected[list(dict.fromkeys([on, "stay_id", "start", "end"]))]
    rows = events.merge(keys, on=on)
    return rows[(rows[time] >= rows["start"]) & (rows[time] < rows["end"])]


def features(tables, expected, window_hours=24):
    """Return a DataFrame of expected feature values indexed by stay_id."""
    out = pd.DataFrame(index=pd.Index(expected["stay_id"], name="stay_id"))
    chart = _in_window(tables["chartevents"], expected)
    for name, spec in CHART.items():
        out[name] = _chart_stat(chart, name, spec)
    out["gcs_min"] = _gcs(chart)
    out["mechanical_ventilation"] = _ventilated(chart, out.index)
    labs = _in_window(tables["labevents"], expected, on="subject_id")
    for name, (itemids, low, high) in LABS.items():
        rows = labs[labs["itemid"].isin(itemids) & labs["valuenum"].between(low, high)]
        out[name] = rows.groupby("stay_id")["valuenum"].agg(name.rsplit("_")[-1])
    out["urine_output_24h"] = _urine(tables, expected, window_hours)
    out["vasopressors"] = _vasopressors(tables, expected, out.index)
    return out


def _chart_stat(chart, name, spec):
    rows = chart[chart["itemid"].isin(list(spec))].copy()
    scale = rows["itemid"].map({i: s[0] for i, s in spec.items()})
    shift = rows["itemid"].map({i: s[1] for i, s in spec.items()})
    rows["v"] = rows["valuenum"] * scale + shift
    low, high = next(iter(spec.values()))[2:]
    rows = rows[rows["v"].between(low, high)]
    return rows.groupby("stay_id")["v"].agg(name.rsplit("_")[-1])


def _gcs(chart):
    rows = chart[chart["itemid"].isin(list(GCS_RANGES))]
    low = rows["itemid"].map({i: r[0] for i, r in GCS_RANGES.items()})
    high = rows["itemid"].map({i: r[1] for i, r in GCS_RANGES.items()})
    rows = rows[(rows["valuenum"] >= low) & (rows["valuenum"] <= high)]
    per_time = rows.groupby(["stay_id", "charttime"]).agg(
        total=("valuenum", "sum"), parts=("itemid", "nunique")
    )
    return per_time[per_time["parts"] == 3].groupby("stay_id")["total"].min()


def _ventilated(chart, index):
    mode = chart["itemid"].isin([223849, 229314]) & chart["value"].notna()
    mode &= chart["value"] != "Standby"
    tube = (chart["itemid"] == 226732) & chart["value"].isin(
        ["Endotracheal tube", "Tracheostomy tube"]
    )
    return index.isin(chart.loc[mode | tube, "stay_id"]).astype(np.int64)


def _urine(tables, expected, window_hours):
    rows = _in_window(tables["outputevents"], expected)
    sign = np.where(rows["itemid"] == 227488, -1.0, 1.0)
    keep = rows["itemid"].isin([*URINE, 227488]) & rows["value"].between(0, 5000)
    rows = rows.assign(v=rows["value"] * sign)[keep]
    return rows.groupby("stay_id")["v"].sum() * 24 / window_hours


def _vasopressors(tables, expected, index):
    rows = tables["inputevents"].merge(expected[["stay_id", "start", "end"]])
    running = (rows["starttime"] < rows["end"]) & (rows["endtime"] > rows["start"])
    hit = running & rows["itemid"].isin(VASOPRESSORS) & (rows["amount"] > 0)
    return index.isin(rows.loc[hit, "stay_id"]).astype(np.int64)
