"""Warnings that point at the user's line, not at the library's internals.

A warning raised deep inside ``fit`` or ``group_report`` is only useful when it names
the line of the user's script or notebook that caused it. A fixed ``stacklevel``
breaks as soon as the call path changes (a direct call, a scikit-learn ``Pipeline``, a
``GridSearchCV``, a parameter-validation wrapper), so :func:`warn` counts the frames
instead: it attributes the warning to the first frame outside healthbalance and outside
the scikit-learn, imbalanced-learn and joblib machinery that calls our estimators. In
a script that is the user's call (``pipe.fit(X, y)``), whatever the path in between.
In a worker thread of ``n_jobs > 1`` no user frame is on the stack: the warning
points at the thread's entry.
"""

import sys
import warnings
from functools import lru_cache
from pathlib import Path

__all__ = ["external_stacklevel", "warn"]


def _package_dirs():
    """Directories whose frames are library internals (with a trailing separator)."""
    dirs = [Path(__file__).resolve().parents[1]]
    for name in ("sklearn", "imblearn", "joblib"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            dirs.append(Path(module.__file__).resolve().parent)
    return tuple(str(d) + "/" for d in dirs) + tuple(
        str(d).replace("/", "\\") + "\\" for d in dirs
    )


@lru_cache(maxsize=1024)
def _internal(filename, prefixes):
    try:
        filename = str(Path(filename).resolve())
    except (OSError, ValueError):
        return False
    return filename.startswith(prefixes)


def external_stacklevel():
    """Return the ``stacklevel`` of the first frame outside the library, for its caller.

    The value is what the function calling :func:`external_stacklevel` would pass to
    :func:`warnings.warn` to attribute a warning to the first frame that is not in
    healthbalance, scikit-learn or imbalanced-learn.

    Returns
    -------
    stacklevel : int
    """
    prefixes = _package_dirs()
    frame, level = sys._getframe(1), 1
    while frame is not None and _internal(frame.f_code.co_filename, prefixes):
        frame, level = frame.f_back, level + 1
    return level


def warn(message, category):
    """Issue a warning attributed to the user's code (see the module docstring).

    Parameters
    ----------
    message : str
        The warning text.
    category : type of Warning
        The warning class.

    Examples
    --------
    >>> import warnings
    >>> from healthbalance.utils._warnings import warn
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("group 'A' has 7 patients", UserWarning)
    >>> caught[0].filename.endswith("_warnings.py")
    False
    """
    warnings.warn(message, category, stacklevel=external_stacklevel())
