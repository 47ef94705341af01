"""Every notebook runs top to bottom (each on small data, under a minute or two)."""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PRIVATE = re.compile(r"healthbalance[.\w]*\._")


def _code(path):
    notebook = nbformat.read(path, as_version=4)
    return [c.source for c in notebook.cells if c.cell_type == "code"]


def test_the_five_notebooks_are_there():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_imports_no_private_module_and_ends_with_checks(path):
    code = _code(path)
    assert not [
        line for cell in code for line in cell.splitlines() if PRIVATE.search(line)
    ]
    assert "assert " in code[-1]
    assert not [c for c in code if re.search(r"""["']benchmark\.html["']\)""", c)]


def test_private_import_scan_catches_one():
    assert PRIVATE.search("from healthbalance.benchmark._checks import run_checks")
    assert not PRIVATE.search("from healthbalance.benchmark import run_checks")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,  # per cell; HistGradientBoosting slows badly on a busy machine
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    assert list(tmp_path.iterdir()) == []  # nothing written next to the notebook
