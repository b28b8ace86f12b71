"""``python -m clients.loadtest``: the same as ``openhire loadtest``."""

import sys

from clients.loadtest import main

sys.exit(main())
