"""The HTTP API: an API Gateway REST API whose every operation is a StartSyncExecution of the order workflow,
with mapping templates (api/templates.py) that build the same inbound event as an EventBridge producer's and
answer with the workflow's response detail. Built from api/openapi.py, the document that api/openapi.json
publishes; IAM (SigV4) authorization, or a JWT Lambda authorizer (functions/jwt_authorizer: a REST API has no native
JWT authorizer), unless a setting says none; throttling and access logs per stage.

Why a REST API: only its mapping templates can reshape StartSyncExecution's answer (an HTTP API returns Step
Functions' envelope, and a FAILED execution as a 200); a Lambda adapter would add a cold start and its cost."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from api.openapi import STAGE, document
from components.function import PythonFunction, PythonFunctionArgs, service_role, statement
from components.layer import DependencyLayer, DependencyLayerArgs
from components.layer_wheels import AUTHORIZER_LAYER
from components.packaging import function_archive

# One JSON line per request; API Gateway fills the $context variables.
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "requestTime": "$context.requestTimeEpoch", "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller", "user": "$context.identity.user", "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath", "status": "$context.status", "responseLength": "$context.responseLength",
    "integrationStatus": "$context.integration.status", "integrationLatency": "$context.integrationLatency",
    "responseLatency": "$context.responseLatency", "error": "$context.error.message"}, separators=(",", ":"))


@dataclass
class JwtAuthorizerArgs:
    issuer: str
    audience: str
    log_retention_days: int


@dataclass
class HttpApiArgs:
    state_machine_arn: pulumi.Input[str]
    region: str
    authorization: str  # "iam", "jwt" (with jwt) or "none"
    throttle_rate_limit: int
    throttle_burst_limit: int
    access_log_retention_days: int
    manage_account_log_role: bool
    jwt: Optional[JwtAuthorizerArgs] = None


class HttpApi(pulumi.ComponentResource):
    rest_api: aws.apigateway.RestApi
    stage: aws.apigateway.Stage
    access_logs: aws.cloudwatch.LogGroup
    authorizer: Optional[PythonFunction] = None
    authorizer_layer: Optional[DependencyLayer] = None

    def __init__(self, name: str, args: HttpApiArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cqrs:index:HttpApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if (args.authorization == "jwt") != (args.jwt is not None):
            raise ValueError("HttpApiArgs: jwt is given exactly when authorization is 'jwt'")
        role, policy = service_role(f"{name}-integration", "apigateway.amazonaws.com",
                                    [statement(["states:StartSyncExecution"], [args.state_machine_arn])], self)
        if args.jwt is not None:
            self.authorizer = self._jwt_authorizer(name, args.jwt)
        body = pulumi.Output.json_dumps(document(
            region=args.region, role_arn=role.arn, authorization=args.authorization, aws=True,
            title=f"{pulumi.get_project()}-{pulumi.get_stack()}",
            authorizer_uri=self.authorizer.function.invoke_arn if self.authorizer else None))
        self.rest_api = aws.apigateway.RestApi(
            f"{name}-api", body=body, endpoint_configuration={"types": "REGIONAL"},
            description="Commands and queries answered synchronously by the order workflow", opts=child)
        deployment = aws.apigateway.Deployment(
            f"{name}-deployment", rest_api=self.rest_api.id,
            triggers={"body": body.apply(lambda text: hashlib.sha256(text.encode()).hexdigest())},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
        if self.authorizer is not None:  # API Gateway invokes it by this resource policy (no role of its own)
            aws.lambda_.Permission(
                f"{name}-authorizer-invoke", action="lambda:InvokeFunction", function=self.authorizer.function.name,
                principal="apigateway.amazonaws.com",
                source_arn=pulumi.Output.concat(self.rest_api.execution_arn, "/authorizers/*"), opts=child)
        self.access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs", name_prefix=f"/aws/apigateway/{pulumi.get_project()}-{pulumi.get_stack()}-api-",
            retention_in_days=args.access_log_retention_days, opts=child)
        stage_depends = [self.access_logs]
        if args.manage_account_log_role:
            stage_depends.append(self._account_log_role(name))
        self.stage = aws.apigateway.Stage(
            f"{name}-stage", rest_api=self.rest_api.id, deployment=deployment.id, stage_name=STAGE,
            variables={"stateMachineArn": args.state_machine_arn}, xray_tracing_enabled=True,
            access_log_settings={"destination_arn": self.access_logs.arn, "format": ACCESS_LOG_FORMAT},
            opts=pulumi.ResourceOptions(parent=self, depends_on=stage_depends))
        aws.apigateway.MethodSettings(
            f"{name}-method-settings", rest_api=self.rest_api.id, stage_name=self.stage.stage_name, method_path="*/*",
            settings={"throttling_rate_limit": args.throttle_rate_limit,
                      "throttling_burst_limit": args.throttle_burst_limit,
                      "metrics_enabled": True, "logging_level": "OFF", "data_trace_enabled": False},
            opts=child)
        self.register_outputs({"url": self.stage.invoke_url, "restApiId": self.rest_api.id})

    def _jwt_authorizer(self, name: str, jwt: JwtAuthorizerArgs) -> PythonFunction:
        """The Lambda TOKEN authorizer: its role may only write its logs (and traces); it reads the issuer's public
        discovery document and keys over the internet, so it runs outside the VPC (which has no NAT). It has its own
        dependency layer (PyJWT, cryptography): in the shared one, pymysql would import cryptography on every
        database function's cold start."""
        self.authorizer_layer = DependencyLayer(f"{name}-jwt-authorizer-deps", DependencyLayerArgs(
            spec=AUTHORIZER_LAYER,
            description="aws-lambda-powertools, PyJWT and cryptography (functions/authorizer-requirements.txt)"),
            opts=pulumi.ResourceOptions(parent=self))
        return PythonFunction(f"{name}-jwt-authorizer", PythonFunctionArgs(
            code=function_archive("jwt_authorizer", ()), handler="jwt_authorizer.handler.handler",
            description="Checks the HTTP API's bearer JWTs (issuer, audience, signature, lifetime)",
            layer_arn=self.authorizer_layer.layer.arn, log_retention_days=jwt.log_retention_days,
            environment={"JWT_ISSUER": jwt.issuer, "JWT_AUDIENCE": jwt.audience},
            timeout=10, memory_size=256), opts=pulumi.ResourceOptions(parent=self))

    def _account_log_role(self, name: str) -> aws.apigateway.Account:
        """The account's (and region's) API Gateway logging role: API Gateway writes REST API access logs with
        it. Scoped to this API's access log group (a stack that shares the account with other APIs logging to
        CloudWatch turns httpApiAccountLogRole off and lets the account's owner set a broader role)."""
        role, policy = service_role(f"{name}-account-logs", "apigateway.amazonaws.com", [
            statement(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                      [pulumi.Output.concat(self.access_logs.arn, ":log-stream:*")]),
            statement(["logs:DescribeLogGroups"], [self.access_logs.arn]),
        ], self)
        return aws.apigateway.Account(f"{name}-account", cloudwatch_role_arn=role.arn,
                                      opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
