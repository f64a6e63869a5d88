"""The pack's mutation suite: plausible regressions of dev and prod, each one change to the recorded resource graph,
run through the offline runner's evaluation (policy.offline). `python -m policy.mutants` prints the table and the
kill rate; tests/policy/test_mutants.py fails on any mutant not caught as intended and on any unexplained survivor.

The program runs once per stack (harness.program); every mutant evaluates a deep copy of that graph with every
policy, under the stack's pack config, and is compared with the unmutated stack's violations."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

from harness.program import run_program
from policy.offline import Violation, evaluate, load_config, resolve_config
from policy.rules import POLICIES

from . import access, http_api, operations
from .graph import ResourceGraph
from .mutant import Mutant, Survivor
from .survivors import SURVIVORS

PACK_DIR = Path(__file__).resolve().parent.parent
MUTANTS = [*access.MUTANTS, *operations.MUTANTS, *http_api.MUTANTS]
# Outcomes; only "killed" and "accepted" pass.
KILLED, ACCEPTED, SURVIVED, MISCAUGHT, NO_LONGER_SURVIVES = (
    "killed", "accepted", "SURVIVED", "MISCAUGHT", "NO LONGER SURVIVES")


@dataclass(frozen=True)
class Outcome:
    mutant: Union[Mutant, Survivor]
    verdict: str
    violations: tuple[Violation, ...]  # what the change added to the stack's violations

    @property
    def passed(self) -> bool:
        return self.verdict in (KILLED, ACCEPTED)


@functools.cache
def _baseline(stack: str) -> tuple:
    """The stack's graph, settings and violations, once per process."""
    path = PACK_DIR / f"config.{stack}.json"
    settings = resolve_config(POLICIES, load_config(path), str(path))
    resources = run_program(stack).resources
    return resources, settings, frozenset(evaluate(resources, POLICIES, settings))


def outcome(mutant: Union[Mutant, Survivor]) -> Outcome:
    resources, settings, before = _baseline(mutant.stack)
    graph = ResourceGraph(mutant.stack, resources)
    mutant.mutate(graph)
    added = tuple(v for v in evaluate(graph.resources, POLICIES, settings) if v not in before)
    if isinstance(mutant, Survivor):
        verdict = NO_LONGER_SURVIVES if added else ACCEPTED
    elif not added:
        verdict = SURVIVED
    else:
        verdict = KILLED if {(v.policy, v.level) for v in added} == {(mutant.policy, mutant.level)} else MISCAUGHT
    return Outcome(mutant, verdict, added)


def run_all() -> list[Outcome]:
    return [outcome(m) for m in [*MUTANTS, *SURVIVORS]]


def _caught_by(result: Outcome) -> str:
    return ", ".join(sorted({f"{v.policy} ({v.level})" for v in result.violations})) or "-"


def table(results: Sequence[Outcome]) -> str:
    rows = [("MUTANT", "STACK", "EXPECTED", "RESULT", "REPORTED BY")]
    for result in results:
        mutant = result.mutant
        expected = f"{mutant.policy} ({mutant.level})" if isinstance(mutant, Mutant) else "survives (accepted)"
        rows.append((mutant.name, mutant.stack, expected, result.verdict, _caught_by(result)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[-1]]).rstrip() for row in rows)


def summary(results: Sequence[Outcome]) -> str:
    must_kill = [r for r in results if isinstance(r.mutant, Mutant)]
    killed = sum(r.verdict == KILLED for r in must_kill)
    accepted = sum(r.verdict == ACCEPTED for r in results)
    unexplained = sum(not r.passed for r in results)
    return (f"kill rate: {killed}/{len(must_kill)} ({100 * killed / len(must_kill):.1f}%) of the mutants the pack must "
            f"kill; {accepted} accepted survivors (policy/README.md); {unexplained} unexplained; "
            f"{len(results)} mutants in all")


def render(results: Sequence[Outcome]) -> str:
    """The table, what each unexplained mutant reported, and the summary line."""
    details = [f"{r.mutant.name}: {r.verdict}; reported: "
               + ("; ".join(f"[{v.level}] {v.policy} {v.resource}: {v.message}" for v in r.violations) or "nothing")
               for r in results if not r.passed]
    return "\n".join([table(results), *details, summary(results)])


def main() -> int:
    results = run_all()
    print(render(results))
    return 0 if all(r.passed for r in results) else 1
