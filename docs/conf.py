"""Sphinx configuration of the healthbalance documentation.

Builds offline: no intersphinx, no external theme, no remote assets. ``make docs``
runs ``sphinx -W --keep-going``, so every warning fails the build.
"""

import os
import re
import sys

DOCS = os.path.dirname(os.path.abspath(__file__))
# Document the source tree next to this folder, even without an install.
sys.path.insert(0, os.path.dirname(DOCS))

import healthbalance  # noqa: E402

project = "healthbalance"
author = "The healthbalance developers"
copyright = "2026, The healthbalance developers"
release = healthbalance.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",  # the MIMIC-IV page is Markdown
]

# API reference: one page per public name, generated from the docstrings.
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

templates_path = ["_templates"]
# generated/metrics_table.rst is included by the evaluation page, not a page itself.
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "generated/metrics_table.rst"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# mimic.rst is a placeholder until the loader's page, mimic.md, is merged: two files
# for one document would be a warning, so the Markdown page wins when it exists.
if os.path.exists(os.path.join(DOCS, "mimic.md")):
    exclude_patterns.append("mimic.rst")
root_doc = "index"
default_role = "literal"
pygments_style = "sphinx"

html_theme = "alabaster"
html_theme_options = {
    "description": "Imbalance-aware and subgroup-aware learning for health data",
    "fixed_sidebar": False,
    "show_powered_by": False,
}
html_static_path = []
html_show_sourcelink = False
html_copy_source = False


# Generic scikit-learn methods, documented by scikit-learn itself with links into its
# own user guide that an offline build cannot resolve.
SKLEARN_GENERIC_METHODS = re.compile(
    r"get_params|set_params|set_output|get_metadata_routing|score|set_\w+_request"
)


def skip_scikit_learn_members(app, what, name, obj, skip, options):
    """Skip the generic methods inherited unchanged from scikit-learn."""
    module = getattr(obj, "__module__", None) or ""
    if module.startswith("sklearn.") and SKLEARN_GENERIC_METHODS.fullmatch(name):
        return True
    return None


_NEEDS = {
    "any": "",
    "both": "events and non-events",
    "events": "events",
    "non_events": "non-events",
}


def _metric_row(name, spec):
    best = spec.best if isinstance(spec.best, str) else f"ideal {spec.best:g}"
    undefined = spec.undefined.format(name=name, threshold="``threshold``")
    entries = [
        f"``{name}``",
        spec.description
        + (f" Undefined when {undefined}." if undefined else "")
        + ("" if spec.default else " Computed only when named in ``metrics=``."),
        best,
        _NEEDS[spec.needs],
        "yes" if spec.interval else "no",
        ", ".join(f"``{word}``" for word in spec.statistics),
        "merged" if spec.mergeable else "whole group",
    ]
    return "\n".join(
        ("   * - " if i == 0 else "     - ") + (entry or "--")
        for i, entry in enumerate(entries)
    )


def write_metrics_table(app):
    """Write ``generated/metrics_table.rst`` from the metric registry."""
    from healthbalance.metrics._registry import METRICS

    header = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 18 40 8 12 7 15 10",
        "",
        "   * - Metric",
        "     - Description",
        "     - Better",
        "     - Needs",
        "     - Interval",
        "     - Statistics",
        "     - Overall row",
    ]
    rows = [_metric_row(name, spec) for name, spec in METRICS.items()]
    os.makedirs(os.path.join(DOCS, "generated"), exist_ok=True)
    path = os.path.join(DOCS, "generated", "metrics_table.rst")
    text = "\n".join(header + rows) + "\n"
    if os.path.exists(path):
        with open(path) as old:
            if old.read() == text:
                return  # unchanged: keep Sphinx from rebuilding the page
    with open(path, "w") as out:
        out.write(text)


def setup(app):
    app.connect("autodoc-skip-member", skip_scikit_learn_members)
    app.connect("builder-inited", write_metrics_table)
