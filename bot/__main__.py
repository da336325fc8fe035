"""`python -m bot` runs the `wirewatch` command."""

import sys

from bot.cli import main

sys.exit(main())
