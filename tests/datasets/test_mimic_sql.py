"""Security of load_mimic_iv: constant SQL only, literal paths, hostile headers."""

import ast
import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import healthbalance
from healthbalance.datasets import _mimic_sql as mimic_sql
from healthbalance.datasets import load_mimic_iv
from tests.datasets import _mimic_fixture as fixture
from tests.datasets import _mimic_reference as reference

PACKAGE = Path(healthbalance.__file__).parent
SQL_MODULE = PACKAGE / "datasets" / "_mimic_sql.py"
QUERY_METHODS = {"execute", "executemany", "sql", "query", "from_query"}
SQL_WORDS = ("SELECT ", "CREATE ", "COPY ", "INSERT ", "ATTACH ", "PRAGMA ", "DROP ")


def sql_problems(source, *, sql_module):
    """Return the lines of ``source`` that build or run SQL other than constants.

    In the SQL module every query passed to ``execute``/``sql``/``query`` must be a
    string literal or a module-level name bound to one; every other module may not run
    queries nor hold SQL text.
    """
    tree = ast.parse(source)
    constants = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    problems = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERY_METHODS
            and node.args
        ):
            query = node.args[0]
            literal = isinstance(query, ast.Constant) and isinstance(query.value, str)
            named = isinstance(query, ast.Name) and query.id in constants
            if not sql_module or not (literal or named):
                problems.append(node.lineno)
        if not sql_module and isinstance(node, ast.Constant):
            text = node.value if isinstance(node.value, str) else ""
            if any(word in text for word in SQL_WORDS):
                problems.append(node.lineno)
    return problems


@pytest.mark.parametrize(
    "snippet",
    [
        'con.execute(f"SELECT * FROM t WHERE a = {a}")',
        'con.execute("SELECT * FROM t WHERE a = {}".format(a))',
        'con.execute("SELECT * FROM t WHERE a = %s" % a)',
        'con.execute("SELECT * FROM t WHERE a = " + a)',
        'Q = "SELECT 1"\nQ2 = Q + a\ncon.sql(Q2)',
        "con.query(make_query(a))",
    ],
)
def test_the_checker_catches_built_queries(snippet):
    assert sql_problems(snippet, sql_module=True)


def test_the_checker_accepts_constants_and_flags_sql_elsewhere():
    good = 'Q = """SELECT * FROM t WHERE a = $a"""\ncon.execute(Q, {"a": 1})'
    assert sql_problems(good, sql_module=True) == []
    assert sql_problems(good, sql_module=False) == [1, 2]


def test_every_query_of_the_package_is_a_constant_of_one_module():
    checked = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        problems = sql_problems(path.read_text(), sql_module=path == SQL_MODULE)
        assert problems == [], f"{path.relative_to(PACKAGE)}: lines {problems}"
        checked += 1
    assert checked > 30
    # The SQL module does run queries, so the scan above really looked at them.
    source = SQL_MODULE.read_text()
    assert source.count(".execute(") >= 8


HOSTILE = [
    'it\'s "quoted"',
    "{braces}; semi;colons",
    "-- comment",
    "/* block */ x",
]


def _attack(target):
    """A header that runs ``COPY ... TO target`` when spliced into read_csv's text."""
    return (
        f"x': 'VARCHAR'}}); COPY (SELECT 42) TO '{target}'; "
        "SELECT * FROM read_csv('x', columns={'x"
    )


def test_the_attack_header_works_when_spliced(tmp_path):
    # Control: the header below is a working attack on a query built by formatting,
    # so the test that follows would catch a loader that splices headers.
    data, target = tmp_path / "t.csv", tmp_path / "pwned.csv"
    data.write_text("x\n1\n")
    query = (
        f"SELECT * FROM read_csv('{data}', columns={{'{_attack(target)}': 'VARCHAR'}})"
    )
    query = query.replace("read_csv('x'", f"read_csv('{data}'")
    duckdb.connect().execute(query)
    assert target.is_file()


def _listing(folder):
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    )


def _with_hostile_headers(tables, target):
    """Give unused columns of every table hostile names."""
    unused = {
        "patients": "dod",
        "admissions": "language",
        "icustays": "los",
        "chartevents": "warning",
        "labevents": "comments",
        "outputevents": "valueuom",
        "inputevents": "rateuom",
    }
    out = dict(tables)
    for i, (name, column) in enumerate(unused.items()):
        hostile = [*HOSTILE, _attack(target)][i % (len(HOSTILE) + 1)]
        out[name] = tables[name].rename(columns={column: hostile})
    out["chartevents"] = out["chartevents"].rename(
        columns={"valueuom": _attack(target)}
    )
    return out


@pytest.fixture(scope="module")
def tables():
    return fixture.make_tables("3.1", seed=3, n_subjects=120)


@pytest.fixture(scope="module")
def expected(tables):
    return reference.cohort(tables)


def test_hostile_headers_are_ignored_and_run_nothing(tables, expected, tmp_path):
    target = tmp_path / "pwned.csv"
    root = fixture.write_tables(
        tmp_path / "mimic", _with_hostile_headers(tables, target)
    )
    header = mimic_sql.read_header(root / "icu" / "chartevents.csv.gz")
    assert _attack(target) in header and "warning" not in header
    before = _listing(tmp_path)
    cohort = load_mimic_iv(root, threads=1)
    assert _listing(tmp_path) == before
    assert not target.exists()
    np.testing.assert_array_equal(cohort.frame["stay_id"], expected["stay_id"])


@pytest.mark.parametrize("hostile", [*HOSTILE, "stay_id'; DROP TABLE cohort; --"])
def test_a_hostile_header_instead_of_a_needed_column_is_refused(
    tables, tmp_path, hostile
):
    icustays = tables["icustays"].rename(columns={"stay_id": hostile})
    root = fixture.write_tables(tmp_path / "m", {**tables, "icustays": icustays})
    with pytest.raises(
        ValueError, match=r"icustays.csv.gz lacks the columns \['stay_id'\]"
    ):
        load_mimic_iv(root)


def test_a_needed_column_twice_is_refused(tables, tmp_path):
    icustays = tables["icustays"].copy()
    icustays.insert(icustays.shape[1], "stay_id", 0, allow_duplicates=True)
    root = fixture.write_tables(tmp_path / "m", {**tables, "icustays": icustays})
    with pytest.raises(ValueError, match="icustays.csv.gz has the column stay_id 2"):
        load_mimic_iv(root)


# Each name is also a glob pattern that matches its sibling (and not itself).
GLOB_ROOTS = {
    "it's [1] *? {a,b}": "it's 1 xy {a,b}",
    "st*r": "stxxr",
    'q?u"o': 'qXu"o',
}


@pytest.mark.parametrize("name", list(GLOB_ROOTS))
def test_a_root_with_glob_characters_reads_exactly_its_own_files(
    tables, expected, tmp_path, name
):
    root = fixture.write_tables(tmp_path / name, tables)
    # A sibling that the root's name matches as a pattern, with other patients.
    sibling = tmp_path / GLOB_ROOTS[name]
    other = fixture.make_tables("3.1", seed=4, n_subjects=150)
    fixture.write_tables(sibling, other)
    # Control: read as a pattern, the root's path also (or only) reads the sibling.
    stays = "SELECT count(*) FROM read_csv(?, compression='gzip')"
    unescaped = str(root / "icu" / "icustays.csv.gz")
    count = duckdb.connect().execute(stays, [unescaped]).fetchone()[0]
    assert count in (
        len(other["icustays"]),
        len(other["icustays"]) + len(tables["icustays"]),
    )
    before = _listing(tmp_path)
    cohort = load_mimic_iv(root, threads=1)
    np.testing.assert_array_equal(cohort.frame["stay_id"], expected["stay_id"])
    assert _listing(tmp_path) == before


def test_glob_characters_in_paths_are_escaped(tmp_path):
    # DuckDB reads a pattern even from a bound parameter; the escaped path is literal.
    own, other = tmp_path / "a[1]", tmp_path / "a1"
    for folder, rows in ((own, 1), (other, 3)):
        folder.mkdir()
        pd.DataFrame({"x": range(rows)}).to_csv(folder / "t.csv", index=False)
    con = duckdb.connect()
    count = "SELECT count(*) FROM read_csv(?)"
    assert con.execute(count, [str(own / "t.csv")]).fetchone()[0] == 3
    literal = mimic_sql.literal_path(own / "t.csv")
    assert con.execute(count, [literal]).fetchone()[0] == 1


def test_a_hostile_memory_limit_is_refused(tables, tmp_path):
    root = fixture.write_tables(tmp_path / "m", tables)
    target = tmp_path / "pwned.csv"
    before = _listing(tmp_path)
    hostile = f"1GB'; COPY (SELECT 42) TO '{target}'; --"
    with pytest.raises(ValueError, match="memory_limit=.* is not a DuckDB memory size"):
        load_mimic_iv(root, memory_limit=hostile)
    assert _listing(tmp_path) == before and not target.exists()


def test_settings_reach_duckdb_as_values(tmp_path):
    con = mimic_sql.connect("300MB", 1, tmp_path / "spill", verbose=False)
    settings = dict(
        con.execute(
            "SELECT name, value FROM duckdb_settings() "
            "WHERE name IN ('threads', 'temp_directory', 'memory_limit')"
        ).fetchall()
    )
    con.close()
    assert settings["threads"] == "1"
    assert settings["temp_directory"] == str(tmp_path / "spill")
    assert settings["memory_limit"].startswith("286")  # 300 MB in MiB


def test_home_relative_paths_are_expanded(tables, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    fixture.write_tables(tmp_path / "mimic", tables)
    assert mimic_sql.locate_tables("~/mimic")["icustays"].is_file()
    assert os.path.isabs(mimic_sql.locate_tables("~/mimic")["icustays"])
