"""What a previewed stack will cost, and the change against the deployed stack: idle per month and per million
createOrder and queries, priced by the benchmarks' cost model (bench/cost_model.py, bench/idle_cost.py) from the
resource graphs the preview reports.

The engine reports every resource of the stack in a preview, each as a step with its old state (what is deployed)
and its new state (what the program now declares). The proposed graph is every new state (all but deletions), the
deployed graph every old state (all but creations). Usage per request is what `python -m bench --only
request_cost` measured through localcloud (bench/request-usage.json) for this stack, or for dev (review stacks are
made from dev's settings); prices are the dated table's."""

from __future__ import annotations

from typing import Any, Optional

from pulumi import automation as auto

# Steps whose new state is part of the proposed stack, and steps whose old state is part of the deployed one.
_PROPOSED = {"same", "create", "update", "replace", "create-replacement", "import", "import-replacement", "read",
             "read-replacement", "refresh"}
_DEPLOYED = {"same", "update", "replace", "delete", "delete-replaced", "discard", "discard-replaced", "read",
             "read-replacement", "refresh", "remove-pending-replace"}
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's marker of a value known only after the update


def graphs(steps: list[auto.StepEventMetadata]) -> tuple[list[Any], list[Any]]:
    """(proposed, deployed) resources, as the cost model reads them; the engine's own resources left out."""
    from harness.program import RegisteredResource

    proposed: dict[str, Any] = {}
    deployed: dict[str, Any] = {}
    for step in steps:
        op = step.op.value if hasattr(step.op, "value") else str(step.op)
        for state, into, ops in ((step.new, proposed, _PROPOSED), (step.old, deployed, _DEPLOYED)):
            if op in ops and state is not None and state.inputs is not None and not state.type.startswith("pulumi:"):
                into[state.urn] = RegisteredResource(
                    state.type, state.urn.rsplit("::", 1)[-1], urn=state.urn, parent=state.parent or "",
                    inputs=dict(state.inputs), state=dict(state.outputs or {}), id=state.id or state.urn)
    return _linked(list(proposed.values())), _linked(list(deployed.values()))


def _linked(resources: list[Any]) -> list[Any]:
    """A cluster instance names its cluster by the cluster's id, unknown in a preview until the cluster exists: with
    a single cluster in the graph, that is the one."""
    clusters = [r for r in resources if r.type == "aws:rds/cluster:Cluster"]
    ids = {r.id for r in clusters}
    for r in resources:
        if r.type == "aws:rds/clusterInstance:ClusterInstance" and r.inputs.get("clusterIdentifier") not in ids \
                and len(clusters) == 1:
            r.inputs["clusterIdentifier"] = clusters[0].id
    return resources


def preview_cost(stack: str, steps: list[auto.StepEventMetadata]) -> Optional[dict[str, Any]]:
    """The proposed stack's cost, the deployed stack's and the change; None when the preview reported no states."""
    import json

    from bench import cost_model, idle_cost

    proposed, deployed = graphs(steps)
    if not proposed and not deployed:
        return None
    table = json.loads(idle_cost.PRICE_TABLE.read_text())
    recorded = cost_model.recorded_usage(stack)
    usage, measured_on = recorded if recorded else (None, None)

    def estimate(resources: list[Any]) -> dict[str, Any]:
        try:
            figures = {"idleUsdPerMonth": round(sum(c.usd_per_month for c in idle_cost.monthly_charges(resources, table)),
                                                2)}
        except (idle_cost.UnpricedResource, KeyError, TypeError, ValueError) as error:
            return {"error": f"not priced: {error}"}
        if usage is not None:
            for key, kind in (("usdPerMillionCreateOrder", "createOrder"), ("usdPerMillionQueries", "query")):
                figures[key] = round(cost_model.total(cost_model.per_million(usage[kind], resources, table)), 2)
        return figures

    cost: dict[str, Any] = {"priceDate": table["date"], "usageMeasuredOn": measured_on,
                            "proposed": estimate(proposed), "deployed": estimate(deployed) if deployed else None}
    if cost["deployed"] and "error" not in cost["deployed"] and "error" not in cost["proposed"]:
        cost["change"] = {key: round(value - cost["deployed"].get(key, 0), 2)
                          for key, value in cost["proposed"].items()}
    return cost


LABELS = (("idleUsdPerMonth", "idle per month"), ("usdPerMillionCreateOrder", "per million createOrder"),
          ("usdPerMillionQueries", "per million queries"))


def format_cost(cost: dict[str, Any]) -> list[str]:
    """One line per figure: proposed (deployed, change)."""
    if "error" in cost["proposed"]:
        return [f"cost: {cost['proposed']['error']}"]
    lines = []
    for key, label in LABELS:
        if key not in cost["proposed"]:
            continue
        line = f"{label}: ${cost['proposed'][key]:.2f}"
        if cost.get("change"):
            line += f" (deployed ${cost['deployed'].get(key, 0):.2f}, change {signed(cost['change'][key])})"
        elif cost["deployed"] is None:
            line += " (nothing deployed yet)"
        lines.append(line)
    if "usdPerMillionCreateOrder" not in cost["proposed"]:
        lines.append("per request: no usage recorded (run `python -m bench --only request_cost`)")
    return lines


def signed(value: float) -> str:
    return f"+${value:.2f}" if value >= 0 else f"-${-value:.2f}"
