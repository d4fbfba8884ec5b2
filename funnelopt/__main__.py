"""``python -m funnelopt`` runs the command line."""

import sys

from funnelopt.cli import main

sys.exit(main())
