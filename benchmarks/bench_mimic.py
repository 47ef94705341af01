"""Benchmark load_mimic_iv on a large fake MIMIC-IV: rows per second and peak memory.

Generates (with DuckDB, in bounded memory) a schema-identical MIMIC-IV whose
``chartevents.csv.gz`` has ``--rows`` rows (about 2,000 per ICU stay, as in the real
database) and small other tables, then runs, each in a fresh child process:

- ``healthbalance``: the full ``load_mimic_iv`` extraction (all four event tables);
- ``2nd call``: ``load_mimic_iv`` again with the same ``cache_dir`` (peak memory
  includes the first, uncached call in the same process);
- ``pandas chunked``: the usual hand-written alternative for ``chartevents`` alone,
  ``pandas.read_csv(chunksize=1_000_000)`` filtered to the same items and windows,
  then aggregated.

Peak memory is the child's maximum resident set size (``getrusage``), so it includes
DuckDB's native memory. Usage::

    python benchmarks/bench_mimic.py --rows 20_000_000 [--workdir DIR]
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHART_COLUMNS = (
    "subject_id, hadm_id, stay_id, caregiver_id, charttime, storetime, itemid, value, "
    "valuenum, valueuom, warning"
)
CHART_ITEMS = [220045, 220052, 220181, 225312, 220210, 224690, 223761, 223762,
               220277, 220739, 223900, 223901, 223849, 229314, 226732]  # fmt: skip
OTHER_ITEMS = list(range(224000, 224025))  # items the loader must skip


def generate(root, rows, stays=None):
    """Write a fake MIMIC-IV with ``rows`` chartevents rows under ``root``."""
    import duckdb

    stays = stays or max(200, rows // 2000)
    (root / "hosp").mkdir(parents=True, exist_ok=True)
    (root / "icu").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET memory_limit = '1GB'")
    con.execute("SET enable_progress_bar = false")
    for name, query in _tables(stays, rows).items():
        folder = "icu" if name in ("icustays", *_ICU) else "hosp"
        path = root / folder / f"{name}.csv.gz"
        con.execute(f"COPY ({query}) TO '{path}' (HEADER, COMPRESSION gzip)")
    con.close()
    return stays


_ICU = ("chartevents", "outputevents", "inputevents")


def _tables(stays, rows):
    intime = "TIMESTAMP '2150-01-01' + to_hours(i * 3)"
    items = CHART_ITEMS + OTHER_ITEMS
    item = f"{items}[1 + CAST(hash(i) % {len(items)} AS BIGINT)]"
    stay = f"i % {stays}"
    return {
        "patients": f"""SELECT 10000000 + i AS subject_id,
            CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END AS gender,
            20 + i % 70 AS anchor_age, 2150 AS anchor_year,
            '2014 - 2016' AS anchor_year_group, NULL AS dod FROM range({stays}) t(i)""",
        "admissions": f"""SELECT 10000000 + i AS subject_id, 20000000 + i AS hadm_id,
            {intime} - to_hours(2) AS admittime, {intime} + to_hours(80) AS dischtime,
            CASE WHEN i % 9 = 0 THEN {intime} + to_hours(80) END AS deathtime,
            'EW EMER.' AS admission_type, NULL AS admit_provider_id,
            NULL AS admission_location, NULL AS discharge_location,
            'Medicare' AS insurance, 'ENGLISH' AS language, NULL AS marital_status,
            'WHITE' AS race, NULL AS edregtime, NULL AS edouttime,
            CASE WHEN i % 9 = 0 THEN 1 ELSE 0 END AS hospital_expire_flag
            FROM range({stays}) t(i)""",
        "icustays": f"""SELECT 10000000 + i AS subject_id, 20000000 + i AS hadm_id,
            30000000 + i AS stay_id, 'MICU' AS first_careunit, 'MICU' AS last_careunit,
            {intime} AS intime, {intime} + to_hours(48) AS outtime, 2.0 AS los
            FROM range({stays}) t(i)""",
        "chartevents": f"""SELECT {CHART_COLUMNS} FROM (
            SELECT 10000000 + {stay} AS subject_id, 20000000 + {stay} AS hadm_id,
            30000000 + {stay} AS stay_id, 1 AS caregiver_id,
            TIMESTAMP '2150-01-01' + to_hours(({stay}) * 3)
                + to_seconds(CAST(hash(i * 7) % 259200 AS BIGINT) - 21600) AS charttime,
            charttime AS storetime, {item} AS itemid,
            20 + (CAST(hash(i * 3) % 800 AS BIGINT)) / 10.0 AS valuenum,
            CASE WHEN itemid IN (223849, 229314) THEN 'CMV/ASSIST'
                 ELSE CAST(valuenum AS VARCHAR) END AS value,
            'unit' AS valueuom, 0 AS warning FROM range({rows}) t(i))""",
        **_small_tables(stays, rows),
    }


def _small_tables(stays, rows):
    stay = f"i % {stays}"
    start = f"TIMESTAMP '2150-01-01' + to_hours(({stay}) * 3) + to_minutes(i % 2000)"
    return {
        "labevents": f"""SELECT i AS labevent_id, 10000000 + {stay} AS subject_id,
            20000000 + {stay} AS hadm_id, i AS specimen_id,
            [50912, 51006, 50813, 51301, 51222, 51265, 50983, 50971, 50882,
             50931, 50960][1 + CAST(hash(i) % 11 AS BIGINT)] AS itemid,
            NULL AS order_provider_id,
            {start} AS charttime, {start} AS storetime, '1' AS value,
            1 + (CAST(hash(i * 5) % 100 AS BIGINT)) / 10.0 AS valuenum, 'u' AS valueuom,
            NULL AS ref_range_lower, NULL AS ref_range_upper, NULL AS flag,
            'ROUTINE' AS priority, NULL AS comments FROM range({rows // 20}) t(i)""",
        "outputevents": f"""SELECT 10000000 + {stay} AS subject_id,
            20000000 + {stay} AS hadm_id, 30000000 + {stay} AS stay_id,
            1 AS caregiver_id, {start} AS charttime, {start} AS storetime,
            226559 AS itemid, 100 AS value, 'ml' AS valueuom
            FROM range({stays * 30}) t(i)""",
        "inputevents": f"""SELECT 10000000 + {stay} AS subject_id,
            20000000 + {stay} AS hadm_id, 30000000 + {stay} AS stay_id,
            1 AS caregiver_id, {start} AS starttime, {start} + to_hours(2) AS endtime,
            {start} AS storetime, 221906 AS itemid, 1.0 AS amount, 'mg' AS amountuom,
            NULL AS rate, NULL AS rateuom, i AS orderid, i AS linkorderid,
            NULL AS ordercategoryname, NULL AS secondaryordercategoryname,
            NULL AS ordercomponenttypedescription, NULL AS ordercategorydescription,
            NULL AS patientweight, NULL AS totalamount, NULL AS totalamountuom,
            0 AS isopenbag, 0 AS continueinnextdept,
            'FinishedRunning' AS statusdescription, NULL AS originalamount,
            NULL AS originalrate FROM range({stays * 3}) t(i)""",
    }


def run_healthbalance(root, memory_limit, threads):
    from healthbalance.datasets import load_mimic_iv

    start = time.perf_counter()
    cohort = load_mimic_iv(root, memory_limit=memory_limit, threads=threads)
    return cohort.frame.shape[0], time.perf_counter() - start


def run_cached(root, memory_limit, threads):
    from healthbalance.datasets import load_mimic_iv

    with tempfile.TemporaryDirectory() as cache:
        load_mimic_iv(root, memory_limit=memory_limit, threads=threads, cache_dir=cache)
        start = time.perf_counter()
        cohort = load_mimic_iv(root, cache_dir=cache)
        return cohort.frame.shape[0], time.perf_counter() - start


def run_pandas(root):
    import pandas as pd

    start = time.perf_counter()
    stays = pd.read_csv(root / "icu" / "icustays.csv.gz", parse_dates=["intime"])
    stays["end"] = stays["intime"] + pd.Timedelta(hours=24)
    kept = []
    chunks = pd.read_csv(
        root / "icu" / "chartevents.csv.gz",
        usecols=["stay_id", "charttime", "itemid", "value", "valuenum"],
        chunksize=1_000_000,
    )
    for chunk in chunks:
        chunk = chunk[chunk["itemid"].isin(CHART_ITEMS)]
        chunk = chunk.merge(stays[["stay_id", "intime", "end"]], on="stay_id")
        time_ = pd.to_datetime(chunk["charttime"])
        kept.append(chunk[(time_ >= chunk["intime"]) & (time_ < chunk["end"])])
    rows = pd.concat(kept)
    rows.groupby(["stay_id", "itemid"])["valuenum"].agg(["mean", "min", "max"])
    return stays.shape[0], time.perf_counter() - start


def child(mode, root, memory_limit, threads):
    """Time one extraction (imports excluded) in this process; print JSON."""
    if mode == "healthbalance":
        n, elapsed = run_healthbalance(root, memory_limit, threads)
    elif mode == "cached":
        n, elapsed = run_cached(root, memory_limit, threads)
    else:
        n, elapsed = run_pandas(root)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "stays": n}))


def measure(mode, root, args):
    command = [sys.executable, __file__, "--child", mode, "--workdir", str(root)]
    command += ["--memory-limit", args.memory_limit, "--threads", str(args.threads)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", choices=["healthbalance", "cached", "pandas"])
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.workdir, args.memory_limit, args.threads)
    with tempfile.TemporaryDirectory(prefix="bench_mimic_") as tmp:
        root = args.workdir or Path(tmp)
        report(args, root)


def report(args, root):
    if not (root / "icu" / "chartevents.csv.gz").is_file():
        start = time.perf_counter()
        stays = generate(root, args.rows)
        print(f"generated {args.rows:,} chartevents rows, {stays:,} stays in "
              f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    size = (root / "icu" / "chartevents.csv.gz").stat().st_size / 2**20
    print(f"chartevents.csv.gz: {size:,.0f} MiB; DuckDB memory_limit="
          f"{args.memory_limit}, threads={args.threads}")  # fmt: skip
    modes = ["healthbalance", "cached"] + ([] if args.skip_pandas else ["pandas"])
    results = {}
    for mode in modes:  # best of --repeat runs: the machine may be shared
        runs = [measure(mode, root, args) for _ in range(args.repeat)]
        results[mode] = min(runs, key=lambda r: r["seconds"])
        results[mode]["peak_mb"] = max(r["peak_mb"] for r in runs)
    base = results["healthbalance"]
    print(f"{'extraction':<34}{'seconds':>9}{'rows/s':>13}{'peak MB':>9}"
          f"{'time ratio':>12}{'mem ratio':>11}")  # fmt: skip
    labels = {"healthbalance": "healthbalance (DuckDB, all tables)",
              "cached": "healthbalance, 2nd call (Parquet)",
              "pandas": "pandas chunked (chartevents only)"}  # fmt: skip
    for mode, r in results.items():
        rate = "-" if mode == "cached" else f"{args.rows / r['seconds']:,.0f}"
        print(f"{labels[mode]:<34}{r['seconds']:>9.2f}{rate:>13}{r['peak_mb']:>9,.0f}"
              f"{r['seconds'] / base['seconds']:>12.2f}"
              f"{r['peak_mb'] / base['peak_mb']:>11.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
