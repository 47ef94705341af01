"""``python -m healthbalance benchmark``: see :mod:`healthbalance.benchmark`."""

import sys

from healthbalance.benchmark._cli import main

if __name__ == "__main__":
    sys.exit(main())
