"""Build the ICU mortality cohort of ``make_icu_cohort`` from a local MIMIC-IV copy."""

import hashlib
import json
import logging
import os
import tempfile
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from healthbalance import __version__
from healthbalance._compat import Interval, StrOptions, validate_params
from healthbalance._small_counts import count_text
from healthbalance.datasets import _mimic_items as items
from healthbalance.datasets import _mimic_sql as sql
from healthbalance.datasets._icu_cohort import FEATURE_NAMES, SENSITIVE_COLUMNS, TARGET
from healthbalance.utils._cache import atomic_write, warn_unusable

# Bump when the extraction changes, so that older caches are not reused.
LOADER_VERSION = "1"
STAMP_KEY = b"healthbalance.cache_stamp"
IDENTIFIERS = ["subject_id", "hadm_id", "stay_id"]
CATEGORICAL = ["admission_type", "sex"]
FLAGS = ["mechanical_ventilation", "vasopressors"]
COLUMNS = [
    *IDENTIFIERS,
    *FEATURE_NAMES,
    *[c for c in SENSITIVE_COLUMNS if c != "sex"],
    TARGET,
]
logger = logging.getLogger("healthbalance.datasets.mimic")


@validate_params(
    {
        "root": [str, os.PathLike],
        "task": [StrOptions({"in_hospital_mortality"})],
        "window_hours": [Interval(Real, 0, None, closed="neither")],
        "min_age": [Interval(Real, 0, None, closed="left")],
        "stays": [StrOptions({"first", "all"})],
        "cache_dir": [str, os.PathLike, None],
        "memory_limit": [str],
        "threads": [Interval(Integral, 1, None, closed="left"), None],
        "verbose": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_mimic_iv(
    root,
    *,
    task="in_hospital_mortality",
    window_hours=24,
    min_age=18,
    stays="first",
    cache_dir=None,
    memory_limit="1GB",
    threads=None,
    verbose=False,
):
    """Load the ICU in-hospital mortality cohort from a local copy of MIMIC-IV.

    Returns the same Bunch as :func:`make_icu_cohort` (same features in the same order
    and dtypes, same sensitive attributes and labels), built out of core with DuckDB
    from the gzipped CSV files of MIMIC-IV v2.0-v2.2 or v3.0-v3.1 (or the open
    MIMIC-IV demo). Needs ``pip install healthbalance[mimic]``.

    **Cohort.** ICU stays (``icu/icustays``) of patients aged ``min_age`` or more at
    admission (``anchor_age`` shifted from ``anchor_year`` to the admission year);
    by default only the first ICU stay of each hospital admission; stays shorter than
    ``window_hours`` are then excluded.

    **Label.** ``in_hospital_mortality`` is the admission's ``hospital_expire_flag``
    (death before hospital discharge, also after the ICU stay). ``deathtime`` is a
    cross-check: disagreements are counted in a logged warning.

    **Features.** Aggregated over the half-open window ``[intime, intime +
    window_hours)`` and never past ``outtime``, ``dischtime`` or ``deathtime``:
    vital signs and GCS from ``chartevents`` (GCS is the sum of its three
    components charted at the same time), laboratory values from ``labevents``
    (matched by patient and time), urine output from ``outputevents`` (sum of the
    urine items, irrigant in subtracted, scaled to 24 hours:
    ``sum * 24 / window_hours``), ``mechanical_ventilation`` (a ventilator mode other
    than standby, or an endotracheal or tracheostomy tube, charted in the window) and
    ``vasopressors`` (a norepinephrine, epinephrine, dopamine, vasopressin or
    phenylephrine infusion in ``inputevents`` running during the window). Item ids,
    unit conversions (temperature in °F to °C) and plausible ranges are in
    ``healthbalance.datasets._mimic_items.ITEMS``; values outside the range are dropped.

    Parameters
    ----------
    root : str or path-like
        Folder holding ``hosp/`` and ``icu/`` with ``patients``, ``admissions``,
        ``labevents``, ``icustays``, ``chartevents``, ``outputevents`` and
        ``inputevents`` as ``.csv.gz`` or ``.csv``.
    task : {"in_hospital_mortality"}, default="in_hospital_mortality"
        Prediction target.
    window_hours : float > 0, default=24
        Length of the observation window after ICU admission, in hours.
    min_age : float >= 0, default=18
        Minimum age in years at hospital admission.
    stays : {"first", "all"}, default="first"
        Keep the first ICU stay of each hospital admission, or every stay.
    cache_dir : str, path-like or None, default=None
        Folder where the extracted cohort is cached as Parquet, keyed by the sizes and
        modification times of the files, the parameters and the loader version.
        ``None`` does not cache.
    memory_limit : str, default="1GB"
        DuckDB memory limit; beyond it DuckDB spills to a temporary folder.
    threads : int >= 1 or None, default=None
        DuckDB threads; ``None`` lets DuckDB use every core.
    verbose : bool, default=False
        Print each stage and DuckDB's progress bar.

    Returns
    -------
    cohort : sklearn.utils.Bunch
        With ``frame`` (``subject_id``, ``hadm_id``, ``stay_id``, the features, the
        sensitive attributes and the target), ``data``, ``target``,
        ``sensitive_features``, ``feature_names`` and ``DESCR``, laid out as in
        :func:`make_icu_cohort`; rows are ordered by ``stay_id``.

    See Also
    --------
    make_icu_cohort : A synthetic cohort with the same layout.

    References
    ----------
    .. [1] Johnson, A. et al. "MIMIC-IV, a freely accessible electronic health record
       dataset." Scientific Data 10, 1 (2023).

    Examples
    --------
    >>> from healthbalance.datasets import load_mimic_iv
    >>> load_mimic_iv("no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: root='no/such/folder' is not a folder: ...
    """
    sources = sql.open_sources(root)
    params = {"task": task, "window_hours": float(window_hours)}
    params.update(min_age=float(min_age), stays=stays)
    stamp = _cache_stamp(sources, params)
    cache = None if cache_dir is None else _cache_path(cache_dir, stamp)
    frame = None if cache is None else _read_cache(cache, stamp)
    if frame is None:
        frame = _finalize(
            _extract(root, sources, params, memory_limit, threads, verbose)
        )
        if cache is not None:
            _write_cache(frame, cache, stamp)
    return _bunch(frame)


def _cache_stamp(sources, params):
    """Return what a cached cohort depends on: versions, parameters, source files."""
    files = {}
    for name, source in sources.items():
        stat = source.path.stat()
        files[name] = [source.path.name, stat.st_size, stat.st_mtime_ns]
    return {
        "library": __version__,
        "loader": LOADER_VERSION,
        "params": params,
        "files": files,
        "columns": COLUMNS,
    }


def _cache_path(cache_dir, stamp):
    key = json.dumps(stamp, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    return Path(cache_dir).expanduser() / f"mimic_iv_{digest}.parquet"


def _read_cache(cache, stamp):
    """Return the cached cohort, or ``None`` (warning when the file is unusable)."""
    if not cache.is_file():
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(cache)
        stored = json.loads((table.schema.metadata or {}).get(STAMP_KEY, b"null"))
        if stored == stamp and table.schema.names == COLUMNS:
            logger.info("load_mimic_iv: reading the cached cohort %s", cache)
            return _finalize(table.to_pandas())
        reason = "was written for other files, parameters or library version"
    except (pa.ArrowException, OSError, ValueError, KeyError, TypeError) as error:
        reason = f"is damaged ({type(error).__name__}: {error})"
    warn_unusable(cache, reason)
    return None


def _write_cache(frame, cache, stamp):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), STAMP_KEY: json.dumps(stamp)}
    table = table.replace_schema_metadata(metadata)
    atomic_write(cache, lambda f: pq.write_table(table, f))


def _extract(root, sources, params, memory_limit, threads, verbose):
    with tempfile.TemporaryDirectory(prefix="healthbalance_mimic_") as spill:
        con = sql.connect(memory_limit, threads, spill, verbose)
        try:
            sql.register_sources(con, sources)
            return _run_queries(con, root, params, verbose)
        finally:
            con.close()


def _run_queries(con, root, params, verbose):
    window, min_age = params["window_hours"], params["min_age"]

    def stage(name, fn):
        if verbose:
            print(f"load_mimic_iv: {name}", flush=True)
        return sql.stage(name, fn)

    n = stage(
        "cohort",
        lambda: sql.create_cohort(con, window, min_age, params["stays"]),
    )
    if n == 0:
        raise ValueError(
            f"no ICU stay in root={str(root)!r} meets the cohort definition (age >= "
            f"{min_age}, ICU stay of at least window_hours={window} h): lower min_age "
            "or window_hours, or check that icustays, admissions and patients match."
        )
    sql.register_items(con)
    parts = [
        stage("chartevents", lambda: sql.chart_features(con)),
        stage("labevents", lambda: sql.lab_features(con)),
        stage("outputevents", lambda: sql.urine_features(con, window)),
        stage("inputevents", lambda: sql.vasopressor_features(con)),
    ]
    # One dtype per value column, so that all-NULL columns (NULL AS mean) do not
    # decide the result's dtype (pandas 2 warns about that).
    values = {c: "float64" for c in parts[0].columns if c not in ("stay_id", "feature")}
    parts = [part.astype(values) for part in parts]
    return _assemble(sql.cohort_frame(con), pd.concat(parts, ignore_index=True))


def _assemble(cohort, long):
    """Join the per-stay aggregates onto the cohort; one column per feature."""
    _check_labels(cohort)
    stay = pd.Index(cohort["stay_id"])
    features = {}
    for name in items.NUMERIC_STATS:
        rows = long[long["feature"] == name].set_index("stay_id")
        features[name] = rows[items.NUMERIC_STATS[name]].reindex(stay).to_numpy(float)
    for name in FLAGS:
        ids = long.loc[long["feature"] == name, "stay_id"]
        features[name] = stay.isin(ids).astype(np.int64)
    age = cohort["age"].to_numpy(float)
    return pd.DataFrame(
        {
            "subject_id": cohort["subject_id"].to_numpy(np.int64),
            "hadm_id": cohort["hadm_id"].to_numpy(np.int64),
            "stay_id": stay.to_numpy(np.int64),
            "admission_type": items.map_admission_type(
                cohort["admission_type"]
            ).to_numpy(),
            "age": age,
            "sex": cohort["gender"].astype("str").str.strip().str.upper().to_numpy(),
            **features,
            "race_ethnicity": items.map_race(cohort["race"]).to_numpy(),
            "age_group": items.map_age_group(age).to_numpy(),
            "insurance": items.map_insurance(cohort["insurance"]).to_numpy(),
            TARGET: _label(cohort),
        }
    )


def _label(cohort):
    flag = pd.to_numeric(cohort["hospital_expire_flag"], errors="coerce")
    return flag.fillna(cohort["has_deathtime"].astype(float)).to_numpy(np.int64)


def _check_labels(cohort):
    flag = cohort["hospital_expire_flag"].fillna(-1).astype(int)
    disagree = int(((flag == 1) != cohort["has_deathtime"].astype(bool)).sum())
    if disagree:
        logger.warning(
            "load_mimic_iv: hospital_expire_flag and deathtime disagree for %s of %s "
            "stays; the label follows hospital_expire_flag.",
            count_text(disagree),
            count_text(cohort.shape[0]),
        )


def _finalize(frame):
    """Give every column the dtype of ``make_icu_cohort``'s (also after the cache)."""
    out = frame.reset_index(drop=True).copy()
    for column in [*IDENTIFIERS, *FLAGS, TARGET]:
        out[column] = out[column].astype(np.int64)
    for column in [*CATEGORICAL, *SENSITIVE_COLUMNS]:
        out[column] = out[column].astype("str")
    for column in items.NUMERIC_STATS:
        out[column] = out[column].astype(np.float64)
    out["age"] = out["age"].astype(np.float64)
    return out[COLUMNS]


def _bunch(frame):
    return Bunch(
        frame=frame,
        data=frame[FEATURE_NAMES].copy(),
        target=frame[TARGET].copy(),
        sensitive_features=pd.DataFrame(
            {c: frame[c].copy() for c in SENSITIVE_COLUMNS}
        ),
        feature_names=list(FEATURE_NAMES),
        DESCR=DESCR,
    )


DESCR = """\
MIMIC-IV ICU mortality cohort (healthbalance.datasets.load_mimic_iv)
--------------------------------------------------------------------

One row per adult ICU stay of MIMIC-IV (first stay of each hospital admission by
default; stays shorter than the observation window excluded), with the columns of
make_icu_cohort: admission type, age and sex, and over the first window_hours after
ICU admission the vital signs (mean heart rate, minimum mean arterial pressure, mean
respiratory rate, maximum temperature in degC, minimum SpO2, minimum GCS), laboratory
values (worst creatinine, BUN, lactate, WBC, hemoglobin, platelets, bicarbonate,
glucose, potassium; mean sodium), urine output (mL per 24 h) and whether mechanical
ventilation or vasopressors were in use. Nothing charted after the window, the ICU
discharge, the hospital discharge or death is used.

Target: in_hospital_mortality (admissions.hospital_expire_flag). Sensitive
attributes: race_ethnicity (admissions.race mapped to White, Black, Hispanic, Asian,
Other/Unknown), sex (patients.gender), age_group (18-44, 45-64, 65-79, 80+) and
insurance (Medicare, Medicaid, Other). The frame adds subject_id, hadm_id, stay_id.

MIMIC-IV is credentialed data: follow the PhysioNet data use agreement and never
share row-level extracts.
"""
