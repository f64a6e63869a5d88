"""CloudWatch log groups: every one expires its logs, within the configured bounds, and every log group a service
writes to is one of the stack's (a service that finds none creates one that keeps logs forever)."""

from .support import as_list, get, label, resource_policy, stack_policy

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
FUNCTION = "aws:lambda/function:Function"
CLUSTER = "aws:rds/cluster:Cluster"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
# The only values CloudWatch Logs accepts (the mock runtime accepts anything).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
                  3653)
DAYS = {"type": "integer", "minimum": 1, "maximum": 3653}


@resource_policy("log-group-retention",
                 "Log groups expire their logs after a retention within the configured bounds.", {LOG_GROUP},
                 config={"minimumDays": {**DAYS, "default": 7, "description": "shortest retention allowed"},
                         "maximumDays": {**DAYS, "default": 365, "description": "longest retention allowed"}})
def retention(args, report_violation):
    config = args.get_config()
    low, high = config["minimumDays"], config["maximumDays"]
    days = get(args.props, "retentionInDays")
    if not days:
        problem = "keeps logs forever"
    elif days not in RETENTION_DAYS:
        problem = f"has a retention of {days:g} days, which CloudWatch Logs does not accept"
    elif not low <= days <= high:
        problem = f"keeps logs for {days:g} days, outside {low}..{high}"
    else:
        return
    allowed = ", ".join(str(d) for d in RETENTION_DAYS if low <= d <= high)
    report_violation(f"log group '{args.name}' {problem}: set retention_in_days to one of {allowed}.")


def _written_log_groups(resource):
    """(log group name, the property that decides it) of each log group the resource's service writes to."""
    props = resource.props
    if resource.resource_type == FUNCTION:
        name = get(props, "loggingConfig", "logGroup")
        if name:
            yield name, "logging_config.log_group"
        else:
            yield f"/aws/lambda/{get(props, 'name')}", "Lambda's default: logging_config.log_group is unset"
    elif resource.resource_type == CLUSTER:
        for log in as_list(get(props, "enabledCloudwatchLogsExports")):
            yield f"/aws/rds/cluster/{get(props, 'clusterIdentifier')}/{log}", f"enabled_cloudwatch_logs_exports {log}"
    elif resource.resource_type == FLOW_LOG and get(props, "logDestinationType") in (None, "cloud-watch-logs"):
        arn = get(props, "logDestination") or ""  # arn:aws:logs:<region>:<account>:log-group:<name>[:*]
        yield arn.partition(":log-group:")[2].removesuffix(":*"), "log_destination"


@stack_policy("log-groups-in-stack",
              "Every log group a function, an Aurora cluster's log exports or a flow log writes to is a log group of "
              "this stack (which log-group-retention checks): otherwise the service creates it, keeping logs forever.")
def log_groups_in_stack(args, report_violation):
    groups = {get(r.props, "name") for r in args.resources if r.resource_type == LOG_GROUP}
    for resource in args.resources:
        for name, decided_by in _written_log_groups(resource):
            if name not in groups:
                report_violation(f"{label(resource.resource_type, resource.name)} writes to log group '{name}' "
                                 f"({decided_by}), which this stack does not create, so it keeps logs forever: "
                                 "create that aws.cloudwatch.LogGroup with retention_in_days, or point the service "
                                 "at one.", resource.urn)


POLICIES = [retention, log_groups_in_stack]
