"""Benchmarks of what users pay for: `python -m bench [--quick] [--only NAME]` (figures in README.md, Performance)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"

# The Lambda archives hold functions/<name>/ and functions/orders_db/ at their root: so does sys.path here.
for _path in (str(ROOT), str(FUNCTIONS_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)
