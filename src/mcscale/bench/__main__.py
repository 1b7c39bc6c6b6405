"""``python -m mcscale.bench``: the same as ``mcscale bench``."""

import sys

from mcscale.bench import main

if __name__ == "__main__":
    sys.exit(main())
