"""A Mermaid state diagram generated from the ASL dict (the README's copy is checked by a test)."""

from __future__ import annotations


def transitions(definition: dict) -> list[tuple[str, str, str]]:
    """(from, to, label) for every Next, Default, Choice rule and Catch; terminal states go to [*]."""
    edges = []
    for name, state in definition["States"].items():
        for rule in state.get("Choices", []):
            edges.append((name, rule["Next"], _describe(rule)))
        if "Default" in state:
            edges.append((name, state["Default"], "otherwise"))
        for catch in state.get("Catch", []):
            edges.append((name, catch["Next"], " or ".join(catch["ErrorEquals"])))
        if "Next" in state:
            edges.append((name, state["Next"], ""))
        if state["Type"] in ("Succeed", "Fail") or state.get("End"):
            edges.append((name, "[*]", ""))
    return edges


def _describe(rule: dict) -> str:
    if "And" in rule:
        return _describe(rule["And"][-1])
    if "Not" in rule:
        return "not " + _describe(rule["Not"])
    variable = rule["Variable"].split(".")[-1]
    for key, value in rule.items():
        if key not in ("Variable", "Next"):
            target = value if not key.endswith("Path") else value.split(".")[-1]
            operator = "present" if key == "IsPresent" else f"= {target}"
            return f"{variable} {operator}".replace('"', "'")
    return ""


def to_mermaid(definition: dict) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {definition['StartAt']}"]
    for source, target, label in transitions(definition):
        lines.append(f"    {source} --> {target}" + (f": {label}" if label else ""))
    return "\n".join(lines)
