"""`python -m app.cli`: the `policy` command."""

import sys

from app.cli import main

sys.exit(main())
