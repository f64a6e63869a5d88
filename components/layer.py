"""The functions' dependency layer (powertools, pymysql), built reproducibly from functions/requirements.txt."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_aws as aws

from components.packaging import dependency_layer


class DependencyLayer(pulumi.ComponentResource):
    layer: aws.lambda_.LayerVersion

    def __init__(self, name: str, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cqrs:index:DependencyLayer", name, None, opts)
        archive = dependency_layer()
        self.layer = aws.lambda_.LayerVersion(
            f"{name}-layer",
            # Layer names are physical: the stack name keeps stacks in one account apart.
            layer_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            description="aws-lambda-powertools and pymysql (functions/requirements.txt)",
            code=pulumi.FileArchive(str(archive.path)),
            source_code_hash=archive.sha256_base64,
            compatible_runtimes=["python3.12"],
            compatible_architectures=["arm64"],
            opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"layerArn": self.layer.arn})
