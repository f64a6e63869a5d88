"""A stand-in for the `pulumi` executable, installed by conftest.py as <root>/bin/pulumi.

It answers the commands the driver (through the Automation API) runs, keeps stacks in $FAKE_PULUMI_HOME/state.json
and appends every invocation to $FAKE_PULUMI_HOME/calls.jsonl: argv, cwd and the environment that matters, with
secret variables recorded only as present/absent.

It reports version 3.205.0, the last CLI release whose engine events the SDK reads from the `--event-log` file
(newer ones stream them over gRPC), and writes events there as the CLI does: policy events, one summary event, and
the cancel event that ends the SDK's log watcher.

Knobs (environment, all optional):
  FAKE_PULUMI_FAIL     {"command": "up", "code": 255, "stderr": "..."}: that command fails after its events
  FAKE_PULUMI_POLICY   [{"level": "mandatory"|"advisory", "policy": ..., "message": ..., "urn": ...}]: reported by
                       preview and up; a mandatory one fails the command like the CLI does
  FAKE_PULUMI_CHANGES  {"create": 1, ...}: resource changes of preview/up/refresh/destroy
  FAKE_PULUMI_STEPS    [{"op": "update", "urn": ..., "type": ..., "diffs": [...], "old": {...}, "new": {...}}]: the
                       resources of preview and up, reported as the engine's resourcePreEvents (old and new
                       states, optional: {"inputs", "outputs", "id"})
  FAKE_PULUMI_STEPS_FILE  a JSON file of such steps, read instead (a whole stack's states exceed what an
                       environment variable may hold)
  FAKE_PULUMI_EVENTS   a file of engine events (JSON lines, e.g. tests/pipelines/data/refresh-preview-drift.jsonl)
                       that `refresh --preview-only` writes to the event log instead of its own
  FAKE_PULUMI_OUTPUTS  stack outputs set by `up`; {"__secret__": value} marks a secret at any depth
  FAKE_PULUMI_HANG     a command that blocks (after writing $FAKE_PULUMI_HOME/started) until `pulumi cancel` or a
                       SIGINT
  FAKE_PULUMI_SLOW_STOP  set: a hanging command goes on after its first SIGINT (operations in flight that take long)
                       until `pulumi cancel` or a second SIGINT
  FAKE_PULUMI_VERSION  what `pulumi version` prints instead of 3.205.0

Like the CLI, it takes a first SIGINT as "finish the operations in flight, then stop" and a second as "terminate
now"; it appends each SIGINT it gets to $FAKE_PULUMI_HOME/signals.
"""

import json
import os
import signal
import sys
import time
from datetime import datetime, timezone

VERSION = "3.205.0"
HOME = os.environ["FAKE_PULUMI_HOME"]
STATE = os.path.join(HOME, "state.json")
SECRET_VARS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN", "AWS_SECRET_ACCESS_KEY")
BANNERS = {"preview": "Previewing update", "up": "Updating", "refresh": "Refreshing", "destroy": "Destroying",
           "refresh --preview-only": "Previewing refresh"}
DEFAULT_CHANGES = {
    "preview": {"create": 2, "same": 1},
    "up": {"create": 2, "same": 1},
    "refresh": {"same": 3},
    "destroy": {"delete": 3},
}


SIGINTS = []


def on_sigint(signum, frame):
    SIGINTS.append(signum)
    with open(os.path.join(HOME, "signals"), "a", encoding="utf-8") as f:
        f.write("SIGINT\n")
    if len(SIGINTS) == 1:
        print("^C received; cancelling. If you would like to terminate immediately, press ^C again.", flush=True)


def knob(name, default=None):
    raw = os.environ.get(name)
    return json.loads(raw) if raw else default


def load():
    if not os.path.exists(STATE):
        return {"stacks": {}, "current": None}
    with open(STATE, encoding="utf-8") as f:
        return json.load(f)


def save(state):
    with open(STATE, "w", encoding="utf-8") as f:
        json.dump(state, f)


def option(args, flag):
    return args[args.index(flag) + 1] if flag in args else None


def fail(code, message):
    sys.stderr.write(message + "\n")
    sys.exit(code)


def render(value, show_secrets):
    if isinstance(value, dict):
        if set(value) == {"__secret__"}:
            return render(value["__secret__"], show_secrets) if show_secrets else "[secret]"
        return {k: render(v, show_secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, show_secrets) for v in value]
    return value


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def require_stack(state, name):
    if name not in state["stacks"]:
        fail(255, f"error: no stack named '{name}' found")
    return state["stacks"][name]


def write_events(args, events):
    log = option(args, "--event-log")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            for sequence, event in enumerate(events):
                f.write(json.dumps({"sequence": sequence, "timestamp": int(time.time()), **event}) + "\n")


def recorded_events(path):
    """Engine events from a file, as the CLI wrote them (the sequence and timestamp are written again)."""
    with open(path, encoding="utf-8") as f:
        events = [json.loads(line) for line in f if line.strip()]
    return [{k: v for k, v in event.items() if k not in ("sequence", "timestamp")} for event in events]


def step_events(steps):
    return [{"resourcePreEvent": {"planning": True, "metadata": {
        "op": step["op"], "urn": step["urn"], "type": step["type"], "diffs": step.get("diffs", []),
        "detailedDiff": None, "provider": "", **states(step)}}} for step in steps]


def states(step):
    """The step's old and new states (inputs, outputs, id), when the test gives them, as the engine reports them."""
    return {side: {"type": step["type"], "urn": step["urn"], "custom": True, "parent": "", "provider": "",
                   "id": step[side].get("id", ""), "inputs": step[side].get("inputs", {}),
                   "outputs": step[side].get("outputs", {})}
            for side in ("old", "new") if side in step}


def engine(command, args, state):
    name = option(args, "--stack")
    stack = require_stack(state, name)
    preview_only = "--preview-only" in args
    events = []
    violations = knob("FAKE_PULUMI_POLICY", []) if command in ("preview", "up") else []
    for v in violations:
        events.append(
            {
                "policyEvent": {
                    "message": v["message"],
                    "color": "never",
                    "policyName": v["policy"],
                    "policyPackName": "cqrs-orders-policy",
                    "policyPackVersion": "0.0.1",
                    "policyPackVersionTag": "0.0.1",
                    "enforcementLevel": v["level"],
                    "resourceUrn": v.get("urn"),
                }
            }
        )
    if command in ("preview", "up"):
        steps_file = os.environ.get("FAKE_PULUMI_STEPS_FILE")
        with open(steps_file, encoding="utf-8") if steps_file else open(os.devnull) as f:
            steps = json.load(f) if steps_file else knob("FAKE_PULUMI_STEPS", [])
        events += step_events(steps)
    changes = knob("FAKE_PULUMI_CHANGES", DEFAULT_CHANGES[command])
    summary = {"maybeCorrupt": False, "durationSeconds": 1, "resourceChanges": changes, "PolicyPacks": {}}
    events.append({"summaryEvent": summary})
    events.append({"cancelEvent": {}})
    if preview_only and os.environ.get("FAKE_PULUMI_EVENTS"):
        events = recorded_events(os.environ["FAKE_PULUMI_EVENTS"])
        changes = next(e["summaryEvent"]["resourceChanges"] for e in events if "summaryEvent" in e)

    print(f"{BANNERS[command + (' --preview-only' if preview_only else '')]} ({name}):")
    sys.stdout.flush()
    if os.environ.get("FAKE_PULUMI_HANG") == command:
        open(os.path.join(HOME, "started"), "w").close()
        deadline = time.monotonic() + 30
        stops_after = 2 if os.environ.get("FAKE_PULUMI_SLOW_STOP") else 1
        while not os.path.exists(os.path.join(HOME, "cancelled")) and time.monotonic() < deadline:
            if len(SIGINTS) >= stops_after:
                break
            time.sleep(0.05)
        write_events(args, [{"cancelEvent": {}}])
        fail(255, "^C received; terminating" if len(SIGINTS) > 1 else "error: the update was canceled")
    write_events(args, events)

    failure = knob("FAKE_PULUMI_FAIL", {})
    mandatory = [v for v in violations if v["level"] == "mandatory"]
    result = "failed" if failure.get("command") == command or mandatory else "succeeded"
    if command != "preview" and not preview_only:
        start = now()
        stack["history"].append(
            {
                "version": len(stack["history"]) + 1,
                "kind": "update" if command == "up" else command,
                "startTime": start,
                "endTime": now(),
                "message": "",
                "environment": {"exec.kind": "auto.local"},
                "config": {},
                "result": result,
                "resourceChanges": changes,
            }
        )
        if result == "succeeded" and command == "up":
            stack["outputs"] = knob("FAKE_PULUMI_OUTPUTS", stack["outputs"])
        if result == "succeeded" and command == "destroy":
            stack["outputs"] = {}
        save(state)
    if failure.get("command") == command:
        fail(failure["code"], failure["stderr"])
    if mandatory:
        fail(255, f"error: {command} failed: {len(mandatory)} mandatory policy violation(s)")
    print("Resources: " + ", ".join(f"{k} {n}" for k, n in changes.items()))


def main():
    signal.signal(signal.SIGINT, on_sigint)
    args = [a for a in sys.argv[1:] if a != "--non-interactive"]
    with open(os.path.join(HOME, "calls.jsonl"), "a", encoding="utf-8") as f:
        record = {
            "argv": sys.argv[1:],
            "cwd": os.getcwd(),
            "backend": os.environ.get("PULUMI_BACKEND_URL"),
            "automation": os.environ.get("PULUMI_AUTOMATION_API"),
            "secrets_present": sorted(v for v in SECRET_VARS if os.environ.get(v)),
        }
        f.write(json.dumps(record) + "\n")

    words = []
    for a in args:
        if a.startswith("-"):
            break
        words.append(a)
    command = " ".join(words[:2]) if words and words[0] in ("stack", "config") else (words[0] if words else "")
    failure = knob("FAKE_PULUMI_FAIL", {})
    if failure.get("command") == command and command not in DEFAULT_CHANGES:
        fail(failure["code"], failure["stderr"])

    state = load()
    if command == "version":
        print("v" + os.environ.get("FAKE_PULUMI_VERSION", VERSION))
    elif command == "stack select":
        require_stack(state, option(args, "--stack"))
        state["current"] = option(args, "--stack")
        save(state)
    elif command == "stack init":
        name = words[2]
        if name in state["stacks"]:
            fail(255, f"error: stack '{name}' already exists")
        state["stacks"][name] = {"history": [], "outputs": {}, "config": {}}
        state["current"] = name
        save(state)
    elif command == "stack rm":
        name = args[-1]
        require_stack(state, name)
        del state["stacks"][name]
        save(state)
    elif command == "stack output":
        stack = require_stack(state, option(args, "--stack"))
        print(json.dumps(render(stack["outputs"], "--show-secrets" in args)))
    elif command == "stack history":
        stack = require_stack(state, option(args, "--stack"))
        newest_first = list(reversed(stack["history"]))
        size = option(args, "--page-size")
        print(json.dumps(newest_first[: int(size)] if size else newest_first))
    elif command == "config set-all":
        stack = require_stack(state, option(args, "--stack"))
        for i, a in enumerate(args):
            if a in ("--plaintext", "--secret"):
                key, _, value = args[i + 1].partition("=")
                stack["config"][key] = {"value": value, "secret": a == "--secret"}
        save(state)
    elif command == "config copy":
        require_stack(state, option(args, "--stack"))
        dest = require_stack(state, option(args, "--dest"))
        dest["config"][args[-1]] = {"copied_from": option(args, "--stack")}
        save(state)
    elif command == "cancel":
        require_stack(state, option(args, "--stack"))
        open(os.path.join(HOME, "cancelled"), "w").close()
    elif command in DEFAULT_CHANGES:
        engine(command, args, state)
    else:
        fail(255, f"fake pulumi: unsupported command {args!r}")


main()
