"""DuckDB queries of :func:`load_mimic_iv`: find the files, stream them, aggregate.

Every large table (``chartevents``, ``labevents``, ``outputevents``, ``inputevents``) is
read exactly once, as a stream of gzipped CSV, and joined on the fly against the small
table of cohort windows: only the rows of the mapped items that fall inside a stay's
window are kept. DuckDB holds memory under ``memory_limit`` and spills to a temporary
directory beyond it, so the peak footprint does not grow with ``chartevents``.

**Security.** This is the only module of healthbalance that talks to a database, and
every SQL text in it is a constant written below: nothing read from a file or passed by
a user is ever spliced into a query.

- Values (window length, minimum age, the ventilation lists) travel as bound
  parameters (``con.execute(QUERY, [values])``); settings through DuckDB's ``config``.
- Files are opened with DuckDB's Python relational API (``con.read_csv``), which takes
  the path and the column names as values, and registered as views named after the
  tables (``icustays``, ``chartevents``, ...). The column names given to DuckDB are the
  loader's own: each needed column gets its expected MIMIC-IV name (``ethnicity`` of
  v2.0 is read as ``race``), every other column a placeholder (``unused_3``), so a
  header's text never reaches DuckDB.
- DuckDB expands ``*``, ``?`` and ``[...]`` in paths even when they are values, so
  paths are escaped (:func:`glob.escape`) and read as the literal file.
"""

import csv
import glob
import gzip
import logging
import time
from pathlib import Path
from typing import NamedTuple

from healthbalance.datasets._mimic_items import (
    INVASIVE_DEVICES,
    NOT_VENTILATED_MODES,
    TABLES,
    items_frame,
)

logger = logging.getLogger("healthbalance.datasets.mimic")

LAYOUTS = (
    "the MIMIC-IV layout ROOT/hosp/<table>.csv.gz and ROOT/icu/<table>.csv.gz (or "
    "plain .csv) of MIMIC-IV v2.0-v2.2, v3.0-v3.1 and the MIMIC-IV demo"
)
# Types of the columns the loader reads from the small tables; every other column is
# read as text.
TYPES = {
    "subject_id": "BIGINT",
    "hadm_id": "BIGINT",
    "stay_id": "BIGINT",
    "itemid": "BIGINT",
    "anchor_age": "DOUBLE",
    "anchor_year": "BIGINT",
    "hospital_expire_flag": "BIGINT",
    **dict.fromkeys(
        ["admittime", "dischtime", "deathtime", "intime", "outtime"], "TIMESTAMP"
    ),
}
# In the large event tables only the join keys are typed while reading: times and
# values stay text until the item join has dropped the rows of other items, which
# saves parsing most of the file (about a third of the time on chartevents).
EVENT_TABLES = ("chartevents", "labevents", "outputevents", "inputevents")
EVENT_TYPES = {"subject_id": "BIGINT", "stay_id": "BIGINT", "itemid": "BIGINT"}
CSV_OPTIONS = {
    "header": True,
    "auto_detect": False,
    "delimiter": ",",
    "quotechar": '"',
    "escapechar": '"',
}


class Source(NamedTuple):
    """A MIMIC-IV file: its path and the DuckDB columns it is read with."""

    path: Path
    columns: dict


def open_sources(root):
    """Locate and check every table; return ``{table: Source}``."""
    sources = {}
    for name, path in locate_tables(root).items():
        types = EVENT_TYPES if name in EVENT_TABLES else TYPES
        sources[name] = Source(
            path, duckdb_columns(name, path, read_header(path), types)
        )
    return sources


def locate_tables(root):
    """Return ``{table: path}`` for every table the loader reads, or raise."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(
            f"root={str(root)!r} is not a folder: point root at a local copy of "
            f"MIMIC-IV in {LAYOUTS}."
        )
    return {name: _locate(root, folder, name) for name, (folder, _) in TABLES.items()}


def _locate(root, folder, name):
    for suffix in (".csv.gz", ".csv"):
        path = root / folder / f"{name}{suffix}"
        if path.is_file():
            return path.absolute()
    raise FileNotFoundError(
        f"MIMIC-IV table {name!r} not found: expected {root / folder / name}.csv.gz "
        f"(or .csv). load_mimic_iv reads {LAYOUTS}."
    )


def read_header(path):
    """Return the column names on the first line of a (gzipped) CSV file."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        row = next(csv.reader(f), [])
    return [c.strip() for c in row]


def duckdb_columns(name, path, header, types=TYPES):
    """Return the ``{column: type}`` DuckDB reads ``path`` with, one per header entry.

    A needed column is named as the loader expects it (the first of its alternatives,
    e.g. ``race`` for ``race|ethnicity``); every other column is ``unused_<position>``.
    A file lacking a needed column, or having it twice, is refused, naming both.
    """
    columns = {f"unused_{i}": "VARCHAR" for i in range(len(header))}
    names, missing = list(columns), []
    for wanted in TABLES[name][1]:
        options = wanted.split("|")
        found = [i for i, c in enumerate(header) if c in options]
        if len(found) > 1:
            raise ValueError(
                f"{path} has the column {' or '.join(options)} {len(found)} times: "
                "load_mimic_iv needs exactly one; remove the duplicates."
            )
        if found:
            names[found[0]] = options[0]
        else:
            missing.append(" or ".join(options))
    if missing:
        raise ValueError(
            f"{path} lacks the columns {missing} (it has {header[:50]}): load_mimic_iv "
            f"expects the column names of MIMIC-IV v2.0-v2.2 or v3.0-v3.1."
        )
    return {c: types.get(c, "VARCHAR") for c in names}


def literal_path(path):
    """Return ``path`` as DuckDB reads it literally: glob characters escaped."""
    return glob.escape(str(path))


def register_sources(con, sources):
    """Register every source as a view named after its table (``icustays``, ...)."""
    for name, source in sources.items():
        # The compression is named: DuckDB does not infer it from an escaped path.
        gzipped = source.path.name.endswith(".gz")
        relation = con.read_csv(
            literal_path(source.path),
            columns=source.columns,
            compression="gzip" if gzipped else "none",
            **CSV_OPTIONS,
        )
        relation.to_view(name)


def connect(memory_limit, threads, temp_directory, verbose):
    """Open an in-memory DuckDB connection with bounded memory."""
    duckdb = import_duckdb()
    config = {
        "memory_limit": memory_limit,
        "temp_directory": str(temp_directory),
        "preserve_insertion_order": False,
    }
    if threads is not None:
        config["threads"] = int(threads)
    try:
        con = duckdb.connect(":memory:", config=config)
    except duckdb.Error as error:
        raise ValueError(
            f"memory_limit={memory_limit!r} is not a DuckDB memory size ({error}): "
            "pass a size such as '1GB' or '500MB'."
        ) from error
    if verbose:
        con.execute(PROGRESS_BAR_ON)
    else:
        con.execute(PROGRESS_BAR_OFF)
    return con


PROGRESS_BAR_ON = "SET enable_progress_bar = true"
PROGRESS_BAR_OFF = "SET enable_progress_bar = false"


def import_duckdb():
    """Import DuckDB, or explain how to install it."""
    try:
        import duckdb
    except ImportError as e:
        raise ImportError(
            "load_mimic_iv needs DuckDB and pyarrow: pip install healthbalance[mimic]"
        ) from e
    return duckdb


def stage(name, query_fn):
    """Run one stage, logging how long it took."""
    logger.info("load_mimic_iv: %s ...", name)
    start = time.perf_counter()
    result = query_fn()
    logger.info("load_mimic_iv: %s done in %.1f s", name, time.perf_counter() - start)
    return result


# Parameters: $window (microseconds), $min_age (years), $first_only (bool).
COHORT = """
    CREATE TEMP TABLE cohort AS
    WITH s AS (
        SELECT subject_id, hadm_id, stay_id, intime, outtime,
            row_number() OVER (PARTITION BY hadm_id ORDER BY intime, stay_id)
                AS stay_rank
        FROM icustays
    ), c AS (
        SELECT s.subject_id, s.hadm_id, s.stay_id, s.intime, s.outtime,
            s.stay_rank, a.admittime, a.dischtime, a.deathtime,
            a.admission_type, a.insurance, a.race,
            a.hospital_expire_flag, p.gender,
            p.anchor_age + (year(a.admittime) - p.anchor_year) AS age,
            s.intime + to_microseconds(CAST($window AS BIGINT)) AS window_end
        FROM s
        JOIN admissions AS a ON a.hadm_id = s.hadm_id
        JOIN patients AS p ON p.subject_id = s.subject_id
    )
    SELECT *, least(window_end, coalesce(outtime, window_end),
                    coalesce(dischtime, window_end),
                    coalesce(deathtime, window_end)) AS cutoff
    FROM c
    WHERE age >= $min_age AND (NOT $first_only OR stay_rank = 1)
        AND outtime >= window_end
"""
COUNT_COHORT = "SELECT count(*) FROM cohort"


def create_cohort(con, window_hours, min_age, stays):
    """Create the temp table ``cohort``: one row per stay with its window."""
    params = {
        "window": round(float(window_hours) * 3.6e9),
        "min_age": float(min_age),
        "first_only": stays == "first",
    }
    con.execute(COHORT, params)
    return con.execute(COUNT_COHORT).fetchall()[0][0]


COHORT_FRAME = """
    SELECT subject_id, hadm_id, stay_id, admission_type, age, gender, race,
        insurance, hospital_expire_flag, deathtime IS NOT NULL AS has_deathtime
    FROM cohort ORDER BY stay_id
"""


def cohort_frame(con):
    """Return the cohort table as a DataFrame ordered by stay."""
    return con.execute(COHORT_FRAME).df()


CREATE_ITEMS = "CREATE TEMP TABLE items AS SELECT * FROM items_df"


def register_items(con):
    """Register the item table in DuckDB as ``items``."""
    con.register("items_df", items_frame())
    con.execute(CREATE_ITEMS)
    con.unregister("items_df")


# Parameters: $not_ventilated, $invasive (lists of text values).
CHART = """
    CREATE TEMP TABLE chart AS
    WITH rows AS (
        SELECT w.stay_id, CAST(c.charttime AS TIMESTAMP) AS charttime, i.feature,
            i.itemid, i.unit, i.low, i.high, w.intime, w.cutoff, c.value,
            TRY_CAST(c.valuenum AS DOUBLE) * i.scale + i.shift AS v
        FROM chartevents AS c
        JOIN items AS i ON i.itemid = c.itemid AND i.source = 'chartevents'
        JOIN cohort AS w ON w.stay_id = c.stay_id
    )
    SELECT stay_id, charttime, feature, itemid,
        CASE WHEN unit = 'text' THEN 1.0 ELSE v END AS v
    FROM rows
    WHERE charttime >= intime AND charttime < cutoff
        AND CASE WHEN unit = 'text' THEN
            (itemid IN (223849, 229314) AND value IS NOT NULL
                AND NOT list_contains($not_ventilated, value))
            OR (itemid = 226732 AND list_contains($invasive, value))
            ELSE v BETWEEN low AND high END
"""
CHART_LONG = """
    WITH gcs AS (
        SELECT stay_id, charttime, sum(v) AS total FROM chart
        WHERE feature = 'gcs_min' GROUP BY stay_id, charttime
        HAVING count(DISTINCT itemid) = 3
    )
    SELECT stay_id, feature, avg(v) AS mean, min(v) AS min, max(v) AS max
    FROM chart WHERE feature != 'gcs_min' GROUP BY stay_id, feature
    UNION ALL
    SELECT stay_id, 'gcs_min', NULL, min(total), NULL FROM gcs GROUP BY stay_id
"""
DROP_CHART = "DROP TABLE chart"


def chart_features(con):
    """Stream chartevents; return long (stay_id, feature, value) aggregates.

    Only the plausible values of the mapped items inside each window are kept (a
    ventilation row is kept with value 1), so the intermediate table is small.
    """
    params = {
        "not_ventilated": list(NOT_VENTILATED_MODES),
        "invasive": list(INVASIVE_DEVICES),
    }
    con.execute(CHART, params)
    long = con.execute(CHART_LONG).df()
    con.execute(DROP_CHART)
    return long


LAB = """
    WITH rows AS (
        SELECT w.stay_id, i.feature,
            TRY_CAST(l.valuenum AS DOUBLE) * i.scale + i.shift AS v,
            i.low, i.high, CAST(l.charttime AS TIMESTAMP) AS charttime,
            w.intime, w.cutoff
        FROM labevents AS l
        JOIN items AS i ON i.itemid = l.itemid AND i.source = 'labevents'
        JOIN cohort AS w ON w.subject_id = l.subject_id
    )
    SELECT stay_id, feature, avg(v) AS mean, min(v) AS min, max(v) AS max
    FROM rows
    WHERE charttime >= intime AND charttime < cutoff AND v BETWEEN low AND high
    GROUP BY stay_id, feature
"""


def lab_features(con):
    """Stream labevents (joined by patient and time); return long aggregates."""
    return con.execute(LAB).df()


# Parameter: $window_hours.
URINE = """
    WITH rows AS (
        SELECT w.stay_id, TRY_CAST(o.value AS DOUBLE) * i.scale + i.shift AS v,
            i.low, i.high, CAST(o.charttime AS TIMESTAMP) AS charttime,
            w.intime, w.cutoff
        FROM outputevents AS o
        JOIN items AS i ON i.itemid = o.itemid AND i.source = 'outputevents'
        JOIN cohort AS w ON w.stay_id = o.stay_id
    )
    SELECT stay_id, 'urine_output_24h' AS feature, NULL AS mean, NULL AS min,
        sum(v) * 24.0 / $window_hours AS max
    FROM rows
    WHERE charttime >= intime AND charttime < cutoff AND v BETWEEN low AND high
    GROUP BY stay_id
"""


def urine_features(con, window_hours):
    """Stream outputevents; return the urine output scaled to 24 hours."""
    return con.execute(URINE, {"window_hours": float(window_hours)}).df()


VASOPRESSORS = """
    SELECT DISTINCT w.stay_id, 'vasopressors' AS feature, NULL AS mean,
        NULL AS min, 1.0 AS max
    FROM inputevents AS e
    JOIN items AS i ON i.itemid = e.itemid AND i.source = 'inputevents'
    JOIN cohort AS w ON w.stay_id = e.stay_id
    WHERE CAST(e.starttime AS TIMESTAMP) < w.cutoff
        AND CAST(e.endtime AS TIMESTAMP) > w.intime
        AND TRY_CAST(e.amount AS DOUBLE) > 0
"""


def vasopressor_features(con):
    """Stream inputevents; flag stays with a vasopressor running in the window."""
    return con.execute(VASOPRESSORS).df()
