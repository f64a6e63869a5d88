"""`python -m policy.mutants`: the mutation suite's table and kill rate (exit 1 on an unexplained survivor)."""

import sys

from policy.mutants import main

sys.exit(main())
