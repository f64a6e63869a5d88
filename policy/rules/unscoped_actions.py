"""IAM actions AWS does not let you scope to a resource, so an Allow for them must name "*", each with its reason.

The pack is deployed apart from the program (its own directory and virtualenv), so it keeps a copy of the
program's table (components/function.py UNSCOPED_ACTIONS); a test fails unless the two are equal."""

UNSCOPED_ACTIONS = {
    # Lambda creates, describes and deletes the ENIs of a VPC function before any ARN exists (exactly the EC2
    # actions of AWSLambdaVPCAccessExecutionRole).
    "ec2:CreateNetworkInterface": "Lambda VPC networking: ENIs are created before their ARN exists",
    "ec2:DescribeNetworkInterfaces": "Lambda VPC networking: Describe* actions support no resource ARN",
    "ec2:DeleteNetworkInterface": "Lambda VPC networking: ENIs are deleted by Lambda on scale-in",
    "ec2:AssignPrivateIpAddresses": "Lambda VPC networking: address assignment on Lambda-managed ENIs",
    "ec2:UnassignPrivateIpAddresses": "Lambda VPC networking: address release on Lambda-managed ENIs",
    "ec2:DescribeSubnets": "Lambda VPC networking: Describe* actions support no resource ARN",
    # X-Ray has no resource-level permissions for trace ingestion.
    "xray:PutTraceSegments": "X-Ray ingestion supports no resource ARN",
    "xray:PutTelemetryRecords": "X-Ray ingestion supports no resource ARN",
    "xray:GetSamplingRules": "X-Ray sampling supports no resource ARN",
    "xray:GetSamplingTargets": "X-Ray sampling supports no resource ARN",
    # Step Functions sets up vended log delivery through account-level log delivery APIs.
    "logs:CreateLogDelivery": "Step Functions log delivery supports no resource ARN",
    "logs:GetLogDelivery": "Step Functions log delivery supports no resource ARN",
    "logs:UpdateLogDelivery": "Step Functions log delivery supports no resource ARN",
    "logs:DeleteLogDelivery": "Step Functions log delivery supports no resource ARN",
    "logs:ListLogDeliveries": "Step Functions log delivery supports no resource ARN",
    "logs:PutResourcePolicy": "Step Functions log delivery edits the account's log resource policy",
    "logs:DescribeResourcePolicies": "Step Functions log delivery reads the account's log resource policy",
    "logs:DescribeLogGroups": "Step Functions log delivery lists log groups, which supports no resource ARN",
}
