"""Program time: the whole Pulumi program (`__main__.py`, archives included) under the SDK's mock runtime, per
stack, in a fresh interpreter each time, as `pulumi preview` runs it.

`first_run_s` is the fresh interpreter's import of the SDKs plus one run; `warm_run_s` a second run in the same
interpreter (the program's own work). Bytecode: a machine normally has the SDKs' compiled bytecode cached after
their first import, so one untimed run writes it into a private cache (PYTHONPYCACHEPREFIX) first, whatever
PYTHONDONTWRITEBYTECODE says; that run's time is reported too, as what a cold CI container pays."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

from bench import ROOT
from bench.report import emit, say
from harness.program import stacks

FULL = {"repeats": 3}
QUICK = {"repeats": 1}
_RUN = """
import json, sys, time
start = time.perf_counter()
from harness.program import run_program
resources = len(run_program(sys.argv[1]).resources)
first = time.perf_counter() - start
start = time.perf_counter()
run_program(sys.argv[1])
print(json.dumps({"first_run_s": first, "warm_run_s": time.perf_counter() - start, "resources": resources}))
"""


def run(repeats: int) -> dict:
    say(f"program time: the program under the mock runtime, fresh interpreter, median of {repeats}")
    figures: dict = {"repeats": repeats}
    with tempfile.TemporaryDirectory(prefix="bench-bytecode-") as cache:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": cache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        figures["without_bytecode_s"] = round(_run_once("dev", env)["first_run_s"], 2)
        say(f"  without cached bytecode (dev, first run): {figures['without_bytecode_s']:.2f} s")
        for stack in stacks():
            runs = [_run_once(stack, env) for _ in range(repeats)]
            figures[stack] = {"first_run_s": round(statistics.median(r["first_run_s"] for r in runs), 2),
                              "warm_run_s": round(statistics.median(r["warm_run_s"] for r in runs), 2),
                              "resources": runs[0]["resources"]}
            say(f"  {stack}: {figures[stack]['first_run_s']:.2f} s fresh, {figures[stack]['warm_run_s']:.2f} s"
                f" warm, {figures[stack]['resources']} resources")
    return emit("program_time", figures)


def _run_once(stack: str, env: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, "-c", _RUN, stack], env=env, cwd=ROOT, capture_output=True, text=True,
                            check=True)
    return json.loads(result.stdout.splitlines()[-1])
