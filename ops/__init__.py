"""Operating the read side: rebuild, reconcile and redrive (`python -m ops`), and the resources that run them.

`ops/core/` is the domain logic, packaged into the two ops Lambda functions and run by the tests in process; the
rest is the operator's command line (`cli`, `stack`, `remote`, `progress`) and the deployed resources (`infra`,
`definition`). Imports point downward only: to functions/orders_db, statemachine and components."""

import sys
from pathlib import Path

# In the repository the shared Lambda package orders_db lives in functions/; in an ops Lambda archive it sits
# beside ops/ at the root, where this folder does not exist.
_FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"
if _FUNCTIONS.is_dir() and str(_FUNCTIONS) not in sys.path:
    sys.path.append(str(_FUNCTIONS))
