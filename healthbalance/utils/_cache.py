"""Files healthbalance keeps between calls: where they live, how they are written.

Caches hold patient-level data (an extracted MIMIC-IV cohort, a benchmark run's test
predictions), so they share three rules, kept here:

- the default folder is the user's cache directory (:func:`user_cache_dir`), never a
  report folder;
- a file is written to a temporary file in its own folder (readable by its owner only)
  and moved into place with :func:`os.replace`, so a reader never sees half a file;
- a file that cannot be used (damaged, or stamped for other inputs or another version)
  is ignored with a :class:`CacheWarning` naming it, and rebuilt.
"""

import os
import tempfile
from pathlib import Path

from healthbalance.utils._warnings import warn


class CacheWarning(UserWarning):
    """A cache file could not be used and is being rebuilt."""


def user_cache_dir():
    """Return the user's healthbalance cache folder (XDG base directory rule).

    ``$XDG_CACHE_HOME/healthbalance`` when ``XDG_CACHE_HOME`` is an absolute path,
    else ``~/.cache/healthbalance``.

    Examples
    --------
    >>> from healthbalance.utils._cache import user_cache_dir
    >>> user_cache_dir().name
    'healthbalance'
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "healthbalance"


def atomic_write(path, write):
    """Write ``path`` through ``write(open_binary_file)``, atomically.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from healthbalance.utils._cache import atomic_write
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     atomic_write(Path(folder) / "a.bin", lambda f: f.write(b"abc"))
    ...     (Path(folder) / "a.bin").read_bytes()
    b'abc'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, partial = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def warn_unusable(path, reason):
    """Warn that the cache file ``path`` is ignored (and rebuilt) because ``reason``.

    The warning points at the user's call (:func:`healthbalance.utils._warnings.warn`).
    """
    warn(
        f"the cache file {path} {reason}: it is ignored and rebuilt.",
        CacheWarning,
    )
