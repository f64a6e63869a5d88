"""Deprecated platforms: Lambda runtimes and Aurora engine versions past their end of standard support, which get no
security patches (Lambda) or cost extended-support fees and then a forced upgrade (Aurora)."""

from __future__ import annotations

from .support import get, resource_policy

FUNCTION = "aws:lambda/function:Function"
CLUSTER = "aws:rds/cluster:Cluster"

# Lambda runtime -> the date AWS deprecated it (the Lambda runtimes page; the 2026 dates are those AWS projected, the
# runtimes on Amazon Linux 2 going with it on 2026-06-30). Add a runtime here when AWS deprecates it.
DEPRECATED_RUNTIMES = {
    "python2.7": "2021-07-15", "python3.6": "2022-07-18", "python3.7": "2023-12-04", "python3.8": "2024-10-14",
    "python3.9": "2025-12-15", "python3.10": "2026-06-30", "python3.11": "2026-06-30",
    "nodejs": "2016-10-31", "nodejs4.3": "2020-03-05", "nodejs4.3-edge": "2019-04-30", "nodejs6.10": "2019-08-12",
    "nodejs8.10": "2020-03-06", "nodejs10.x": "2021-07-30", "nodejs12.x": "2023-03-31", "nodejs14.x": "2023-12-04",
    "nodejs16.x": "2024-06-12", "nodejs18.x": "2025-09-01", "nodejs20.x": "2026-04-30",
    "java8": "2024-01-08", "java8.al2": "2026-06-30", "go1.x": "2024-01-08", "provided": "2024-01-08",
    "provided.al2": "2026-06-30", "ruby2.5": "2021-07-30", "ruby2.7": "2023-12-07", "ruby3.2": "2026-03-31",
    "dotnetcore1.0": "2019-07-30", "dotnetcore2.0": "2019-05-30", "dotnetcore2.1": "2022-01-05",
    "dotnetcore3.1": "2023-04-03", "dotnet5.0": "2022-05-10", "dotnet6": "2024-12-20", "dotnet7": "2024-05-14",
}
SUPPORTED_PYTHON = "python3.12"  # what the program uses; python3.13 and python3.14 are supported too
# Aurora engine -> engine version prefixes past the end of standard support (Aurora MySQL 1 and 2, MySQL 5.6/5.7
# compatible: 2024-10-31; Aurora PostgreSQL 11 and 12: 2024-02-29 and 2025-02-28).
DEPRECATED_ENGINE_VERSIONS = {"aurora": ("5.6",), "aurora-mysql": ("5.6", "5.7"),
                              "aurora-postgresql": ("9.", "10.", "11.", "12.")}


@resource_policy("lambda-runtime-supported", "Lambda functions use a runtime AWS has not deprecated.", {FUNCTION})
def runtime_supported(args, report_violation):
    runtime = get(args.props, "runtime")
    if runtime in DEPRECATED_RUNTIMES:
        report_violation(f"Lambda function '{args.name}' runs on {runtime}, deprecated since "
                         f"{DEPRECATED_RUNTIMES[runtime]} (no security patches): set runtime to a supported one, "
                         f"e.g. {SUPPORTED_PYTHON}.")


@resource_policy("aurora-engine-supported",
                 "Aurora clusters run an engine version within standard support (Aurora MySQL 3, Aurora PostgreSQL "
                 "13 or newer).", {CLUSTER})
def engine_supported(args, report_violation):
    engine, version = get(args.props, "engine"), get(args.props, "engineVersion")
    if isinstance(version, str) and version.startswith(DEPRECATED_ENGINE_VERSIONS.get(engine, ())):
        report_violation(f"Aurora cluster '{args.name}' runs {engine} {version}, past its end of standard support "
                         "(extended support fees, then a forced upgrade): set engine_version to a supported major "
                         "version (Aurora MySQL 3: 8.0.mysql_aurora.3.x).")


POLICIES = [runtime_supported, engine_supported]
