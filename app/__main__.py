"""`python -m app` runs the opswatchdog CLI."""

import sys

from app.cli import main

sys.exit(main())
