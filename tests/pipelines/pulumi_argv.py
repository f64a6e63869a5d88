"""The exact argument lists the Automation API gives the Pulumi CLI, as the fake records them."""

VERSION = ["version"]


def select(stack):
    return ["--non-interactive", "stack", "select", "--stack", stack]


def init(stack, *flags):
    return ["--non-interactive", "stack", "init", stack, *flags]


_ENGINE_HEAD = {
    "preview": ["preview"],
    "up": ["up", "--yes", "--skip-preview"],
    "refresh": ["refresh", "--skip-preview", "--yes"],
    "destroy": ["destroy", "--skip-preview", "--yes"],
    "drift": ["refresh", "--preview-only"],
}


def engine(verb, stack, *flags):
    return [
        "--non-interactive",
        *_ENGINE_HEAD[verb],
        *flags,
        "--exec-kind",
        "auto.local",
        "--event-log",
        "<event-log>",
        "--stack",
        stack,
    ]


def outputs(stack, *, show_secrets=False):
    secrets = ["--show-secrets"] if show_secrets else []
    return ["--non-interactive", "stack", "output", "--json", *secrets, "--stack", stack]


def history(stack, *, show_secrets=True):
    secrets = ["--show-secrets"] if show_secrets else []
    paging = ["--page-size", "1", "--page", "1"]
    return ["--non-interactive", "stack", "history", "--json", *secrets, *paging, "--stack", stack]


def policy(pack, config):
    return ["--policy-pack", str(pack), "--policy-pack-config", str(config)]


def up_sequence(stack, *flags):
    """`Stack.up` reads outputs (masked, then plaintext) and the last update; the driver then reads the masked
    outputs it prints."""
    return [
        engine("up", stack, *flags),
        outputs(stack),
        outputs(stack, show_secrets=True),
        history(stack),
        outputs(stack),
    ]
