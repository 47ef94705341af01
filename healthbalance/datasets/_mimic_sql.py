"""DuckDB queries of :func:`load_mimic_iv`: find the files, stream them, aggregate.

Every large table (``chartevents``, ``labevents``, ``outputevents``, ``inputevents``) is
read exactly once, as a stream of gzipped CSV, and joined on the fly against the small
table of cohort windows: only the rows of the mapped items that fall inside a stay's
window are kept. DuckDB holds memory under ``memory_limit`` and spills to a temporary
directory beyond it, so the peak footprint does not grow with ``chartevents``.
"""

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


def _time(column):
    return f"CAST({column} AS TIMESTAMP)"


def _number(column):
    return f"TRY_CAST({column} AS DOUBLE)"


class Source(NamedTuple):
    """A MIMIC-IV file: its path, its header, the resolved columns and its scan."""

    path: Path
    columns: dict
    scan: str


def open_sources(root):
    """Locate and check every table; return ``{table: Source}``."""
    sources = {}
    for name, path in locate_tables(root).items():
        header = read_header(path)
        types = EVENT_TYPES if name in EVENT_TABLES else TYPES
        columns = resolve_columns(name, path, header)
        sources[name] = Source(path, columns, scan(path, header, types))
    return sources


def locate_tables(root):
    """Return ``{table: path}`` for every table the loader reads, or raise."""
    root = Path(root)
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
            return path
    raise FileNotFoundError(
        f"MIMIC-IV table {name!r} not found: expected {root / folder / name}.csv.gz "
        f"(or .csv). load_mimic_iv reads {LAYOUTS}."
    )


def read_header(path):
    """Return the column names on the first line of a (gzipped) CSV file."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        line = f.readline()
    return [c.strip().strip('"').strip() for c in line.rstrip("\r\n").split(",")]


def resolve_columns(name, path, header):
    """Return ``{wanted: actual}`` column names of a table, or raise on a mismatch."""
    resolved, missing = {}, []
    for wanted in TABLES[name][1]:
        options = wanted.split("|")
        found = [c for c in options if c in header]
        if found:
            resolved[options[0]] = found[0]
        else:
            missing.append(" or ".join(options))
    if missing:
        raise ValueError(
            f"{path} lacks the columns {missing} (it has {header}): load_mimic_iv "
            f"expects the column names of MIMIC-IV v2.0-v2.2 or v3.0-v3.1."
        )
    return resolved


def scan(path, header, types=TYPES):
    """Return a DuckDB ``read_csv`` expression streaming ``path`` with fixed types."""
    columns = ", ".join(f"'{c}': '{types.get(c, 'VARCHAR')}'" for c in header)
    return (
        f"read_csv('{_quote(path)}', header=true, auto_detect=false, delim=',', "
        f"quote='\"', escape='\"', columns={{{columns}}})"
    )


def _quote(path):
    return str(path).replace("'", "''")


def connect(memory_limit, threads, temp_directory, verbose):
    """Open an in-memory DuckDB connection with bounded memory."""
    duckdb = import_duckdb()
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{_quote(memory_limit)}'")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    con.execute(f"SET temp_directory = '{_quote(temp_directory)}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET enable_progress_bar = {str(bool(verbose)).lower()}")
    return con


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


def create_cohort(con, sources, window_hours, min_age, stays):
    """Create the temp table ``cohort``: one row per stay with its window."""
    a = sources["admissions"].columns
    rank = "AND stay_rank = 1" if stays == "first" else ""
    window = f"to_microseconds(CAST({float(window_hours) * 3.6e9} AS BIGINT))"
    con.execute(f"""
        CREATE TEMP TABLE cohort AS
        WITH s AS (
            SELECT subject_id, hadm_id, stay_id, intime, outtime,
                row_number() OVER (PARTITION BY hadm_id ORDER BY intime, stay_id)
                    AS stay_rank
            FROM {sources["icustays"].scan}
        ), c AS (
            SELECT s.subject_id, s.hadm_id, s.stay_id, s.intime, s.outtime,
                s.stay_rank, a.admittime, a.dischtime, a.deathtime,
                a.admission_type, a.insurance, a.{a["race"]} AS race,
                a.hospital_expire_flag, p.gender,
                p.anchor_age + (year(a.admittime) - p.anchor_year) AS age,
                s.intime + {window} AS window_end
            FROM s
            JOIN {sources["admissions"].scan} AS a ON a.hadm_id = s.hadm_id
            JOIN {sources["patients"].scan} AS p ON p.subject_id = s.subject_id
        )
        SELECT *, least(window_end, coalesce(outtime, window_end),
                        coalesce(dischtime, window_end),
                        coalesce(deathtime, window_end)) AS cutoff
        FROM c
        WHERE age >= {float(min_age)} {rank} AND outtime >= window_end
    """)
    return con.execute("SELECT count(*) FROM cohort").fetchall()[0][0]


def cohort_frame(con):
    """Return the cohort table as a DataFrame ordered by stay."""
    return con.execute("""
        SELECT subject_id, hadm_id, stay_id, admission_type, age, gender, race,
            insurance, hospital_expire_flag, deathtime IS NOT NULL AS has_deathtime
        FROM cohort ORDER BY stay_id
    """).df()


def register_items(con):
    """Register the item table in DuckDB as ``items``."""
    con.register("items_df", items_frame())
    con.execute("CREATE TEMP TABLE items AS SELECT * FROM items_df")
    con.unregister("items_df")


def chart_features(con, source):
    """Stream chartevents; return long (stay_id, feature, value) aggregates.

    Only the plausible values of the mapped items inside each window are kept (a
    ventilation row is kept with value 1), so the intermediate table is small.
    """
    ventilated = (
        f"(c.itemid IN (223849, 229314) AND c.value IS NOT NULL "
        f"AND c.value NOT IN {_sql_list(NOT_VENTILATED_MODES)}) "
        f"OR (c.itemid = 226732 AND c.value IN {_sql_list(INVASIVE_DEVICES)})"
    )
    v = f"{_number('c.valuenum')} * i.scale + i.shift"
    t = _time("c.charttime")
    con.execute(f"""
        CREATE TEMP TABLE chart AS
        SELECT w.stay_id, {t} AS charttime, i.feature, i.itemid,
            CASE WHEN i.unit = 'text' THEN 1.0 ELSE {v} END AS v
        FROM {source.scan} AS c
        JOIN items AS i ON i.itemid = c.itemid AND i.source = 'chartevents'
        JOIN cohort AS w ON w.stay_id = c.stay_id
        WHERE {t} >= w.intime AND {t} < w.cutoff
            AND CASE WHEN i.unit = 'text' THEN {ventilated}
                ELSE {v} BETWEEN i.low AND i.high END
    """)
    long = con.execute("""
        WITH gcs AS (
            SELECT stay_id, charttime, sum(v) AS total FROM chart
            WHERE feature = 'gcs_min' GROUP BY stay_id, charttime
            HAVING count(DISTINCT itemid) = 3
        )
        SELECT stay_id, feature, avg(v) AS mean, min(v) AS min, max(v) AS max
        FROM chart WHERE feature != 'gcs_min' GROUP BY stay_id, feature
        UNION ALL
        SELECT stay_id, 'gcs_min', NULL, min(total), NULL FROM gcs GROUP BY stay_id
    """).df()
    con.execute("DROP TABLE chart")
    return long


def lab_features(con, source):
    """Stream labevents (joined by patient and time); return long aggregates."""
    return con.execute(f"""
        WITH rows AS (
            SELECT w.stay_id, i.feature,
                {_number("l.valuenum")} * i.scale + i.shift AS v,
                i.low, i.high
            FROM {source.scan} AS l
            JOIN items AS i ON i.itemid = l.itemid AND i.source = 'labevents'
            JOIN cohort AS w ON w.subject_id = l.subject_id
            WHERE {_time("l.charttime")} >= w.intime
                AND {_time("l.charttime")} < w.cutoff
        )
        SELECT stay_id, feature, avg(v) AS mean, min(v) AS min, max(v) AS max
        FROM rows WHERE v BETWEEN low AND high GROUP BY stay_id, feature
    """).df()


def urine_features(con, source, window_hours):
    """Stream outputevents; return the urine output scaled to 24 hours."""
    return con.execute(f"""
        WITH rows AS (
            SELECT w.stay_id, {_number("o.value")} * i.scale + i.shift AS v,
                i.low, i.high
            FROM {source.scan} AS o
            JOIN items AS i ON i.itemid = o.itemid AND i.source = 'outputevents'
            JOIN cohort AS w ON w.stay_id = o.stay_id
            WHERE {_time("o.charttime")} >= w.intime
                AND {_time("o.charttime")} < w.cutoff
        )
        SELECT stay_id, 'urine_output_24h' AS feature, NULL AS mean, NULL AS min,
            sum(v) * 24.0 / {float(window_hours)} AS max
        FROM rows WHERE v BETWEEN low AND high GROUP BY stay_id
    """).df()


def vasopressor_features(con, source):
    """Stream inputevents; flag stays with a vasopressor running in the window."""
    return con.execute(f"""
        SELECT DISTINCT w.stay_id, 'vasopressors' AS feature, NULL AS mean,
            NULL AS min, 1.0 AS max
        FROM {source.scan} AS e
        JOIN items AS i ON i.itemid = e.itemid AND i.source = 'inputevents'
        JOIN cohort AS w ON w.stay_id = e.stay_id
        WHERE {_time("e.starttime")} < w.cutoff AND {_time("e.endtime")} > w.intime
            AND {_number("e.amount")} > 0
    """).df()


def _sql_list(values):
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"
