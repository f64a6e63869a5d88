"""Every validation rule of the stack settings, with a failing value and its message."""

import pytest

from components.settings import SETTINGS, SettingsError, parse_settings
from harness.program import PROJECT, run_program, stack_config


def raw(stack: str = "dev", **changes) -> dict:
    config = stack_config(stack)
    values = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith(f"{PROJECT}:")}
    return values | {k: str(v) for k, v in changes.items()}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_both_stacks_are_valid(stack):
    settings = parse_settings(raw(stack))
    assert settings.stateMachineLogLevel in ("ALL", "ERROR")


def test_dev_is_cheap_when_idle_and_prod_is_protected():
    dev, prod = parse_settings(raw("dev")), parse_settings(raw("prod"))
    assert dev.auroraMinCapacity == 0 and dev.auto_pause
    assert dev.lambdaLogRetentionDays <= 14 and dev.backupRetentionDays == 1
    assert prod.deletionProtection and prod.dynamoDeletionProtection and prod.dynamoPointInTimeRecovery
    assert prod.backupRetentionDays >= 7 and not prod.skipFinalSnapshot
    assert prod.lambdaLogRetentionDays > dev.lambdaLogRetentionDays
    assert prod.stateMachineIncludeExecutionData is False


@pytest.mark.parametrize("changes, message", [
    ({"auroraMinCapacity": "4", "auroraMaxCapacity": "2"},
     "invalid setting cqrs-orders:auroraMinCapacity = '4': expected at most auroraMaxCapacity (2)"),
    ({"auroraMaxCapacity": "300"},
     "invalid setting cqrs-orders:auroraMaxCapacity = '300': expected Aurora capacity units from 0 to 256 in steps of 0.5"),
    ({"auroraMinCapacity": "-0.5"}, "cqrs-orders:auroraMinCapacity = '-0.5': expected Aurora capacity units"),
    ({"auroraMinCapacity": "0.25"}, "cqrs-orders:auroraMinCapacity = '0.25': expected Aurora capacity units"),
    ({"auroraMinCapacity": "abc"}, "cqrs-orders:auroraMinCapacity = 'abc': expected Aurora capacity units"),
    ({"auroraMinCapacity": "NaN"}, "cqrs-orders:auroraMinCapacity = 'NaN': expected Aurora capacity units"),
    ({"auroraMaxCapacity": "0.5", "auroraMinCapacity": "0"},
     "cqrs-orders:auroraMaxCapacity = '0.5': expected at least 1 ACU"),
    ({"auroraSecondsUntilAutoPause": "100"},
     "cqrs-orders:auroraSecondsUntilAutoPause = '100': expected a whole number from 300 to 86400"),
    ({"auroraEngineVersion": "8.0.mysql_aurora.3.05.2"},
     "cqrs-orders:auroraEngineVersion = '8.0.mysql_aurora.3.05.2': auroraMinCapacity 0 (auto-pause) needs"),
    ({"auroraEngineVersion": "5.7.mysql_aurora.2.11.2"},
     "cqrs-orders:auroraEngineVersion = '5.7.mysql_aurora.2.11.2': expected an Aurora MySQL 3 version"),
    ({"lambdaLogRetentionDays": "10"},
     "cqrs-orders:lambdaLogRetentionDays = '10': expected a CloudWatch Logs retention in days, one of 1, 3, 5, 7, 14"),
    ({"stateMachineLogRetentionDays": "0"}, "cqrs-orders:stateMachineLogRetentionDays = '0': expected a CloudWatch"),
    ({"stateMachineLogLevel": "DEBUG"},
     "cqrs-orders:stateMachineLogLevel = 'DEBUG': expected one of ALL, ERROR, FATAL, OFF"),
    ({"auroraReaderInstances": "16"},
     "cqrs-orders:auroraReaderInstances = '16': expected a whole number from 0 to 15"),
    ({"backupRetentionDays": "0"}, "cqrs-orders:backupRetentionDays = '0': expected a whole number from 1 to 35"),
    ({"backupRetentionDays": "36"}, "cqrs-orders:backupRetentionDays = '36': expected a whole number from 1 to 35"),
    ({"deletionProtection": "yes"}, "cqrs-orders:deletionProtection = 'yes': expected true or false"),
    ({"deletionProtection": "true", "skipFinalSnapshot": "true"},
     "cqrs-orders:skipFinalSnapshot = 'true': a deletion-protected stack keeps its final snapshot"),
    ({"dlqMessageRetentionSeconds": "1209601"},
     "cqrs-orders:dlqMessageRetentionSeconds = '1209601': expected a whole number from 60 to 1209600"),
    ({"alarmEmail": "not-an-email"}, "cqrs-orders:alarmEmail = 'not-an-email': expected an email address"),
    ({"lambdaReservedConcurrency": "0"},
     "cqrs-orders:lambdaReservedConcurrency = '0': expected a whole number from 1 to 1000 or -1"),
    ({"projectorBatchSize": "1001"}, "cqrs-orders:projectorBatchSize = '1001': expected a whole number from 1 to 1000"),
    ({"projectorMaxRetries": "-1"}, "cqrs-orders:projectorMaxRetries = '-1': expected a whole number from 0 to 10000"),
    ({"projectorMaxRecordAgeSeconds": "10"},
     "cqrs-orders:projectorMaxRecordAgeSeconds = '10': expected a whole number from 60 to 604800"),
    ({"vpcId": "vpc-0123456789abcdef0"},
     "cqrs-orders:privateSubnetIds = []: vpcId and privateSubnetIds go together"),
    ({"vpcId": "my-vpc"}, "cqrs-orders:vpcId = 'my-vpc': expected a VPC id"),
    ({"privateSubnetIds": '["subnet-0123456789abcdef0"]'},
     "cqrs-orders:privateSubnetIds = '[\"subnet-0123456789abcdef0\"]': expected a list of at least two distinct"),
    ({"dbIdleSessionTimeoutSeconds": "10"},
     "cqrs-orders:dbIdleSessionTimeoutSeconds = '10': expected a whole number from 30 to 86400"),
    ({"dbIdleSessionTimeoutSeconds": "86401"},
     "cqrs-orders:dbIdleSessionTimeoutSeconds = '86401': expected a whole number from 30 to 86400"),
    # With auto-pause an idle session must be closed before the pause is due, or Aurora never pauses.
    ({"dbIdleSessionTimeoutSeconds": "300", "auroraSecondsUntilAutoPause": "300"},
     "cqrs-orders:dbIdleSessionTimeoutSeconds = '300': expected a whole number from 30 to 299 (below "
     "auroraSecondsUntilAutoPause: an idle session left open keeps Aurora from pausing)"),
    ({"dbLogExports": '["general"]'},
     "cqrs-orders:dbLogExports = '[\"general\"]': expected a JSON list of distinct log types among audit, error, "
     "slowquery"),
    ({"dbLogExports": '["audit", "audit"]'}, "cqrs-orders:dbLogExports = '[\"audit\", \"audit\"]': expected a JSON list"),
    ({"dbLogExports": "audit"}, "cqrs-orders:dbLogExports = 'audit': expected a JSON list"),
    ({"dbLogExports": '"audit"'}, "cqrs-orders:dbLogExports = '\"audit\"': expected a JSON list"),
    ({"dbLogRetentionDays": "0"}, "cqrs-orders:dbLogRetentionDays = '0': expected a CloudWatch Logs retention"),
    ({"vpcFlowLogs": "on"}, "cqrs-orders:vpcFlowLogs = 'on': expected true or false"),
    ({"vpcFlowLogRetentionDays": "100"},
     "cqrs-orders:vpcFlowLogRetentionDays = '100': expected a CloudWatch Logs retention"),
])
def test_bad_value_names_key_value_and_what_is_allowed(changes, message):
    with pytest.raises(SettingsError) as error:
        parse_settings(raw(**changes))
    assert message in str(error.value)


def test_idle_session_timeout_is_only_bounded_by_auto_pause_when_the_database_pauses():
    assert parse_settings(raw("dev", dbIdleSessionTimeoutSeconds="299")).dbIdleSessionTimeoutSeconds == 299
    # prod keeps a 0.5 ACU floor: no auto-pause, so the timeout may exceed auroraSecondsUntilAutoPause.
    assert parse_settings(raw("prod", dbIdleSessionTimeoutSeconds="7200")).dbIdleSessionTimeoutSeconds == 7200


def test_audit_trail_and_idle_sessions_per_stack():
    dev, prod = parse_settings(raw("dev")), parse_settings(raw("prod"))
    assert dev.dbIdleSessionTimeoutSeconds == 120 < dev.auroraSecondsUntilAutoPause
    assert prod.dbIdleSessionTimeoutSeconds == 1800
    assert dev.dbLogExports == ("error",) and not dev.vpcFlowLogs  # cheap: nothing priced while idle
    assert prod.dbLogExports == ("audit", "error", "slowquery") and prod.vpcFlowLogs
    assert prod.dbLogRetentionDays == 365 and prod.vpcFlowLogRetentionDays == 90
    assert parse_settings(raw(dbLogExports="[]")).dbLogExports == ()
    assert parse_settings(raw(dbLogExports='["slowquery", "audit"]')).dbLogExports == ("audit", "slowquery")


def test_existing_network_is_accepted_with_both_settings():
    settings = parse_settings(raw(vpcId="vpc-0123456789abcdef0",
                                  privateSubnetIds='["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]'))
    assert settings.privateSubnetIds == ("subnet-0123456789abcdef0", "subnet-0123456789abcdef1")


def test_missing_setting_is_named():
    values = raw()
    del values["projectorBatchSize"]
    with pytest.raises(SettingsError, match="missing setting cqrs-orders:projectorBatchSize"):
        parse_settings(values)


def test_pulumi_yaml_declares_every_setting_with_type_default_and_description():
    import yaml
    from harness.program import ROOT
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert set(declared) == {s.key for s in SETTINGS}
    for key, spec in declared.items():
        assert {"type", "default", "description"} <= set(spec), key


# The settings the issue says differ per environment: each is set in both stack files, never left to a default.
PER_ENVIRONMENT = {"auroraMinCapacity", "auroraMaxCapacity", "auroraSecondsUntilAutoPause", "backupRetentionDays",
                   "deletionProtection", "skipFinalSnapshot", "lambdaLogRetentionDays", "stateMachineLogRetentionDays",
                   "stateMachineLogLevel", "stateMachineIncludeExecutionData", "dynamoPointInTimeRecovery",
                   "dynamoDeletionProtection", "dlqMessageRetentionSeconds", "alarmEmail", "lambdaReservedConcurrency",
                   "dbIdleSessionTimeoutSeconds", "dbLogExports", "dbLogRetentionDays", "vpcFlowLogs",
                   "vpcFlowLogRetentionDays"}


def test_every_per_environment_setting_is_in_both_stack_files():
    import yaml
    from harness.program import ROOT
    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    prod = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    assert {f"cqrs-orders:{key}" for key in PER_ENVIRONMENT} <= set(dev) & set(prod)
    differing = {k for k in set(dev) | set(prod) if dev.get(k) != prod.get(k)}
    assert differing and differing <= set(dev) & set(prod)


def test_a_misspelt_setting_fails_as_the_cli_fails_it():
    from harness.program import UndeclaredConfig
    with pytest.raises(UndeclaredConfig, match="'cqrs-orders:auroraMaxCapactiy' which is not defined"):
        run_program("dev", config_overrides={"cqrs-orders:auroraMaxCapactiy": "4"})


def test_the_program_fails_with_the_settings_message():
    with pytest.raises(SettingsError, match="cqrs-orders:stateMachineLogLevel = 'LOUD'"):
        run_program("dev", config_overrides={"cqrs-orders:stateMachineLogLevel": "LOUD"})


JWT = {"httpApiAuthorization": "jwt", "httpApiJwtIssuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
       "httpApiJwtAudience": "app-client-1"}


@pytest.mark.parametrize("changes, message", [
    ({"httpApiAuthorization": "oauth"}, "cqrs-orders:httpApiAuthorization = 'oauth': expected iam (SigV4-signed "
                                        "requests), jwt (a bearer token of httpApiJwtIssuer for httpApiJwtAudience) or none"),
    (JWT | {"httpApiJwtIssuer": ""}, "cqrs-orders:httpApiJwtIssuer = '': required with httpApiAuthorization jwt"),
    (JWT | {"httpApiJwtAudience": ""}, "cqrs-orders:httpApiJwtAudience = '': required with httpApiAuthorization jwt"),
    (JWT | {"httpApiJwtIssuer": "http://login.example.com"},
     "cqrs-orders:httpApiJwtIssuer = 'http://login.example.com': expected the issuer's https URL"),
    (JWT | {"httpApiJwtIssuer": "login.example.com"}, "httpApiJwtIssuer = 'login.example.com': expected the issuer's"),
    (JWT | {"httpApiJwtIssuer": "https://login.example.com/?tenant=1"}, "expected the issuer's https URL"),
    (JWT | {"httpApiJwtAudience": "two words"},
     "cqrs-orders:httpApiJwtAudience = 'two words': expected the audience the tokens must name in their aud claim"),
    ({"httpApiJwtIssuer": "https://login.example.com"},
     "cqrs-orders:httpApiJwtIssuer = 'https://login.example.com': only with httpApiAuthorization jwt (it is iam)"),
])
def test_jwt_settings_name_the_key_and_what_is_allowed(changes, message):
    with pytest.raises(SettingsError, match=None) as raised:
        parse_settings(raw(**changes))
    assert message in str(raised.value)


@pytest.mark.parametrize("issuer", ["https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
                                    "https://tenant.auth0.com/", "http://127.0.0.1:8080", "http://localhost:9000/idp"])
def test_jwt_is_accepted_with_an_https_or_loopback_issuer_and_an_audience(issuer):
    settings = parse_settings(raw(**(JWT | {"httpApiJwtIssuer": issuer})))
    assert (settings.httpApiAuthorization, settings.httpApiJwtIssuer, settings.httpApiJwtAudience) == \
        ("jwt", issuer, "app-client-1")
