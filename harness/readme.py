"""Generated sections of README.md: the state machine diagram and the configuration reference.

`python -m harness.readme` rewrites them in place; a test fails when the README's copy is stale.
"""

from __future__ import annotations

import re
import sys

from components.settings import SETTINGS
from harness.program import ROOT, PROJECT, stack_config
from statemachine.definition import QUERIES, WorkflowRefs, build_definition
from statemachine.mermaid import to_mermaid

README = ROOT / "README.md"


def sample_definition() -> dict:
    """The definition with readable placeholders for the deploy-time references."""
    return build_definition(WorkflowRefs("<orders table>", "<event bus>", "<validator function>",
                                         {q: f"<{q} function>" for q in QUERIES}))


def state_machine_section() -> str:
    return "```mermaid\n" + to_mermaid(sample_definition()) + "\n```"


def settings_section() -> str:
    dev, prod = stack_config("dev"), stack_config("prod")
    rows = ["| setting | dev | prod | what it does |", "|---|---|---|---|"]
    for setting in SETTINGS:
        key = f"{PROJECT}:{setting.key}"
        rows.append(f"| `{setting.key}` | `{dev[key]}` | `{prod[key]}` | {setting.description} |")
    return "\n".join(rows)


SECTIONS = {"state-machine": state_machine_section, "settings": settings_section}


def render(text: str) -> str:
    for name, build in SECTIONS.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- end:{name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README.md lacks the markers of the generated section {name!r}")
        text = pattern.sub(lambda m: m.group(1) + build() + "\n" + m.group(2), text)
    return text


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
    sys.exit(0)
