"""Private scikit-learn, imbalanced-learn and fairlearn names go through _compat."""

import ast
from pathlib import Path

import pytest

import healthbalance

UPSTREAM = ("sklearn", "imblearn", "fairlearn")
PACKAGE = Path(healthbalance.__file__).parent
COMPAT = PACKAGE / "_compat.py"


def _is_private(name):
    return name.startswith("_") and not name.startswith("__")


def _upstream(module):
    return module is not None and module.split(".")[0] in UPSTREAM


def private_uses(source):
    """Yield ``(line, text)`` for every private upstream name a module uses.

    Catches ``from sklearn.x import _name``, ``from sklearn._x import name``,
    ``import sklearn._x``, and ``obj._private(...)`` calls on upstream objects
    whose attribute names are listed in ``_PRIVATE_ATTRIBUTES``.
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _upstream(node.module):
            parts = node.module.split(".")
            names = [alias.name for alias in node.names]
            if any(_is_private(p) for p in parts) or any(map(_is_private, names)):
                yield node.lineno, f"from {node.module} import {', '.join(names)}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in UPSTREAM and any(_is_private(p) for p in parts):
                    yield node.lineno, f"import {alias.name}"
        elif isinstance(node, ast.Attribute) and node.attr in _PRIVATE_ATTRIBUTES:
            yield node.lineno, f".{node.attr}"


# Private methods of upstream objects that we would otherwise call directly.
_PRIVATE_ATTRIBUTES = {"_pmf_predict"}


def _package_modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if p != COMPAT)


def test_no_module_but_compat_uses_private_upstream_names():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text}"
        for path in _package_modules()
        for line, text in private_uses(path.read_text())
    ]
    assert offenders == [], "use healthbalance._compat instead:\n" + "\n".join(
        offenders
    )


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from sklearn.base import _fit_context", True),
        ("from sklearn.utils._param_validation import Interval", True),
        ("import sklearn.utils._param_validation", True),
        ("from fairlearn.reductions import ExponentiatedGradient", False),
        ("model.mitigator_._pmf_predict(X)", True),
        ("from sklearn.base import clone", False),
        ("from healthbalance._compat import fit_context", False),
        ("from imblearn.utils._validation import check_sampling_strategy", True),
    ],
)
def test_scanner_finds_private_names(source, found):
    assert bool(list(private_uses(source))) is found


def test_compat_module_exists_and_imports_privately():
    assert list(private_uses(COMPAT.read_text())), "_compat should hold the imports"
