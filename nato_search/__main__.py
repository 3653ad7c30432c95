"""``python -m nato_search``: the command line, as ``nato-search``."""

import sys

from nato_search.cli import main

sys.exit(main())
