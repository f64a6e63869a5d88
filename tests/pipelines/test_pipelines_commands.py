"""preview/up/refresh/destroy: the CLI calls they make, protection, summaries, secrets."""

import json

import pytest
from pulumi_argv import VERSION, engine, history, init, policy, select, up_sequence

OUTPUTS = {
    "apiUrl": "https://api.example.com",
    "dbPassword": {"__secret__": "hunter2-top"},
    "database": {"host": "db.internal", "password": {"__secret__": "nested-s3cret"}},
}
SECRET_VALUES = ("hunter2-top", "nested-s3cret")


def test_preview_selects_the_stack_and_passes_the_policy_pack(fake, monkeypatch):
    fake.seed("dev")
    monkeypatch.chdir(fake.work_dir)  # relative paths are the caller's; the CLI gets absolute ones

    run = fake.run("preview", "--stack", "dev", "--policy-pack", "policy", "--policy-config", "policy/config.dev.json")

    assert run.code == 0, run.err
    pack, config = fake.work_dir / "policy", fake.work_dir / "policy" / "config.dev.json"
    assert fake.calls() == [VERSION, select("dev"), engine("preview", "dev", *policy(pack, config))]
    assert "Previewing update (dev):" in run.out  # the engine's output is streamed
    assert "preview (stack dev): succeeded" in run.out
    assert "changes: create 2, same 1" in run.out


def test_preview_creates_a_missing_stack_with_the_secrets_provider_from_the_environment(fake, monkeypatch):
    monkeypatch.setenv("PULUMI_SECRETS_PROVIDER", "awskms://alias/cqrs-orders?region=eu-west-1")

    run = fake.run("preview", "--stack", "dev")

    assert run.code == 0, run.err
    assert fake.calls() == [
        VERSION,
        select("dev"),
        init("dev", "--secrets-provider", "awskms://alias/cqrs-orders?region=eu-west-1"),
        engine("preview", "dev"),
    ]


def test_up_prints_changes_and_outputs_with_every_secret_masked(fake):
    fake.seed("dev")
    fake.knob("OUTPUTS", OUTPUTS)
    fake.knob("CHANGES", {"same": 4, "update": 1, "create": 2})

    run = fake.run("up", "--stack", "dev")

    assert run.code == 0, run.err
    assert fake.calls() == [VERSION, select("dev"), *up_sequence("dev")]
    assert "up (stack dev): succeeded" in run.out
    assert "changes: create 2, update 1, same 4" in run.out
    assert "    apiUrl: https://api.example.com" in run.out
    assert "    dbPassword: [secret]" in run.out
    assert '    database: {"host": "db.internal", "password": "[secret]"}' in run.out
    for secret in SECRET_VALUES:
        assert secret not in run.out + run.err


def test_json_prints_exactly_one_document_and_streams_the_engine_to_stderr(fake):
    fake.seed("dev")
    fake.knob("OUTPUTS", OUTPUTS)

    run = fake.run("up", "--stack", "dev", "--json")

    assert run.code == 0
    assert run.json() == {
        "command": "up",
        "stack": "dev",
        "status": "succeeded",
        "changes": {"create": 2, "same": 1},
        "diff": [],
        "drift": None,
        "outputs": {
            "apiUrl": "https://api.example.com",
            "dbPassword": "[secret]",
            "database": {"host": "db.internal", "password": "[secret]"},
        },
        "policyViolations": [],
        "error": None,
    }
    assert "Updating (dev):" in run.err
    for secret in SECRET_VALUES:
        assert secret not in run.out + run.err


@pytest.mark.parametrize("verb, changes", [("refresh", "same 3"), ("destroy", "delete 3")])
def test_refresh_and_destroy_select_the_stack_and_summarize(fake, verb, changes):
    fake.seed("dev")

    run = fake.run(verb, "--stack", "dev")

    assert run.code == 0, run.err
    assert fake.calls() == [VERSION, select("dev"), engine(verb, "dev"), history("dev")]
    assert f"{verb} (stack dev): succeeded" in run.out
    assert f"changes: {changes}" in run.out


@pytest.mark.parametrize("verb", ["refresh", "destroy"])
def test_refresh_and_destroy_never_create_a_stack(fake, verb):
    run = fake.run(verb, "--stack", "dev")

    assert run.code == 2
    assert "unknown stack 'dev': it does not exist in the configured backend" in run.err
    assert fake.calls() == [VERSION, select("dev")]


def test_a_stack_without_a_settings_file_is_unknown(fake):
    run = fake.run("preview", "--stack", "prdo")

    assert run.code == 2
    assert "unknown stack 'prdo': no Pulumi.prdo.yaml" in run.err
    assert "(stacks: dev, prod)" in run.err
    assert fake.calls() == []


@pytest.mark.parametrize("verb", ["up", "refresh", "destroy"])
def test_prod_is_protected_without_yes(fake, verb):
    fake.seed("prod")

    run = fake.run(verb, "--stack", "prod")

    assert run.code == 2
    assert f"stack prod is protected: `{verb}` needs --yes" in run.err
    assert fake.calls() == []


def test_prod_up_with_yes(fake):
    fake.seed("prod")

    run = fake.run("up", "--stack", "prod", "--yes")

    assert run.code == 0, run.err
    assert fake.calls() == [VERSION, select("prod"), *up_sequence("prod")]


@pytest.mark.parametrize("verb", ["refresh", "destroy"])
def test_prod_refresh_and_destroy_with_yes(fake, verb):
    fake.seed("prod")

    run = fake.run(verb, "--stack", "prod", "--yes")

    assert run.code == 0, run.err
    assert fake.calls() == [VERSION, select("prod"), engine(verb, "prod"), history("prod")]


def test_preview_takes_yes_like_the_other_commands_and_needs_none(fake):
    fake.seed("prod")

    assert fake.run("preview", "--stack", "prod").code == 0
    assert fake.run("preview", "--stack", "prod", "--yes").code == 0
    assert fake.calls().count(engine("preview", "prod")) == 2


@pytest.mark.parametrize("verb", ["refresh", "destroy"])
@pytest.mark.parametrize("args", [["--policy-pack", "policy"], ["--policy-config", "policy/config.dev.json"]])
def test_refresh_and_destroy_refuse_a_policy_pack_in_one_line(fake, monkeypatch, verb, args):
    fake.seed("dev")
    monkeypatch.chdir(fake.work_dir)

    run = fake.run(verb, "--stack", "dev", *args)

    assert run.code == 2
    assert run.err == (
        f"error: {verb} (stack dev): `{verb}` runs no policy pack (the Automation API passes one to preview and up "
        "only): drop --policy-pack/--policy-config\n"
    )
    assert fake.calls() == []


def test_protection_follows_the_stack_settings(fake):
    (fake.work_dir / "Pulumi.staging.yaml").write_text(
        "config:\n  cqrs-orders:deletionProtection: true\n", encoding="utf-8"  # a YAML boolean, unlike prod's string
    )

    run = fake.run("destroy", "--stack", "staging")

    assert run.code == 2
    assert "stack staging is protected" in run.err
    assert fake.calls() == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--policy-pack", "nowhere"], "policy pack directory not found: nowhere"),
        (["--policy-config", "policy/config.dev.json"], "--policy-config needs --policy-pack"),
        (["--policy-pack", "policy", "--policy-config", "policy/missing.json"], "policy pack config file not found"),
    ],
)
def test_policy_arguments_are_checked_before_any_cli_call(fake, monkeypatch, args, message):
    monkeypatch.chdir(fake.work_dir)

    run = fake.run("preview", "--stack", "dev", *args)

    assert run.code == 2
    assert message in run.err
    assert fake.calls() == []


def test_a_policy_pack_without_its_virtualenv_fails_early_saying_how_to_create_it(fake, monkeypatch):
    fake.pack_python.unlink()
    monkeypatch.chdir(fake.work_dir)

    run = fake.run("preview", "--stack", "dev", "--policy-pack", "policy", "--json")

    assert run.code == 2
    assert run.json()["error"]["message"] == (
        "policy pack policy has no virtualenv policy/venv: create it with `python -m venv policy/venv && "
        "policy/venv/bin/python -m pip install -r policy/requirements.txt`"
    )
    assert fake.calls() == []


def test_a_directory_without_a_policy_manifest_is_no_policy_pack(fake, monkeypatch):
    monkeypatch.chdir(fake.work_dir)
    (fake.work_dir / "tests").mkdir()

    run = fake.run("preview", "--stack", "dev", "--policy-pack", "tests")

    assert run.code == 2
    assert "tests is not a policy pack: it has no PulumiPolicy.yaml" in run.err
    assert fake.calls() == []


def test_backend_and_passphrase_reach_the_cli_only_through_the_environment(fake):
    fake.seed("dev")
    fake.knob("OUTPUTS", OUTPUTS)

    run = fake.run("up", "--stack", "dev", "--json")

    assert run.code == 0
    records = fake.records()
    assert len(records) == 7
    for record in records:
        assert record["secrets_present"] == ["PULUMI_CONFIG_PASSPHRASE"]
        assert record["backend"] == fake.backend
        if record["argv"] != VERSION:  # the SDK's version probe runs wherever the driver was started
            assert record["cwd"] == str(fake.work_dir)
            assert record["automation"] == "true"  # set by the driver's runner, as by the SDK's
        assert fake.passphrase not in json.dumps(record["argv"])
    assert fake.passphrase not in run.out + run.err


def test_advisory_policy_violations_are_reported_but_do_not_block(fake, monkeypatch):
    fake.seed("dev")
    monkeypatch.chdir(fake.work_dir)
    fake.knob("POLICY", [{"level": "advisory", "policy": "tags-required", "message": "add a team tag"}])

    run = fake.run("preview", "--stack", "dev", "--policy-pack", "policy")

    assert run.code == 0, run.err
    assert "policy violations (not blocking):" in run.out
    assert "[advisory] cqrs-orders-policy/tags-required: add a team tag" in run.out


def test_a_mandatory_violation_fails_the_preview_with_the_cli_error(fake, monkeypatch):
    fake.seed("dev")
    monkeypatch.chdir(fake.work_dir)
    urn = "urn:pulumi:dev::cqrs-orders::aws:dynamodb/table:Table::orders"
    # Engine messages may carry Pulumi's colour directives; the summary drops them.
    message = "<{%fg 1%}>enable PITR<{%reset%}>"
    fake.knob("POLICY", [{"level": "mandatory", "policy": "pitr", "message": message, "urn": urn}])

    run = fake.run("preview", "--stack", "dev", "--policy-pack", "policy", "--json")

    assert run.code == 1
    document = run.json()
    assert document["status"] == "failed"
    assert document["error"] == {
        "message": "`pulumi preview` failed with exit code 255",
        "cliExitCode": 255,
        "cliStderr": "error: preview failed: 1 mandatory policy violation(s)",
    }
    assert document["policyViolations"] == [
        {"pack": "cqrs-orders-policy", "policy": "pitr", "level": "mandatory", "message": "enable PITR", "urn": urn}
    ]
