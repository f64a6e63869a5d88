"""`python -m ops rebuild|reconcile|redrive --stack NAME`: see ops/cli.py."""

import sys

from ops.cli import main

sys.exit(main())
