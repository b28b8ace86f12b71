import sys

from clients.assess.cli import main

sys.exit(main())
