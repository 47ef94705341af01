"""Test-session settings shared by the doctests and the test suite."""

import os

# scikit-learn's check_array_api_input skips itself unless SciPy's array API support
# is switched on; it must be set before SciPy is imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
