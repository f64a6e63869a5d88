"""A mutant: one plausible regression of a stack, as a change to its recorded resource graph."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .graph import ResourceGraph

MANDATORY, ADVISORY = "mandatory", "advisory"


@dataclass(frozen=True)
class Mutant:
    """A regression the pack must report: exactly `policy`'s violations at `level`, and nothing else."""
    name: str
    stack: str
    policy: str
    change: str
    mutate: Callable[[ResourceGraph], None]
    level: str = MANDATORY


@dataclass(frozen=True)
class Survivor:
    """A change the pack lets through on purpose, with the reason (also listed in policy/README.md)."""
    name: str
    stack: str
    change: str
    mutate: Callable[[ResourceGraph], None]
    reason: str
