"""A Lambda dependency layer, built reproducibly from a requirements file and its lock (components/layer_wheels.py
`LayerSpec`): the shared layer of every function (`SHARED_LAYER`: powertools, pymysql), and the JWT authorizer's
own (`AUTHORIZER_LAYER`: powertools, PyJWT, cryptography), kept apart so no other function loads cryptography."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.layer_wheels import LayerSpec
from components.packaging import dependency_layer


@dataclass
class DependencyLayerArgs:
    spec: LayerSpec  # what to build: its requirements and their lock
    description: str


class DependencyLayer(pulumi.ComponentResource):
    layer: aws.lambda_.LayerVersion

    def __init__(self, name: str, args: DependencyLayerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cqrs:index:DependencyLayer", name, None, opts)
        archive = dependency_layer(args.spec)
        self.layer = aws.lambda_.LayerVersion(
            f"{name}-layer",
            # Layer names are physical: the stack name keeps stacks in one account apart.
            layer_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            description=args.description,
            code=pulumi.FileArchive(str(archive.path)),
            source_code_hash=archive.sha256_base64,
            compatible_runtimes=["python3.12"],
            compatible_architectures=["arm64"],
            opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"layerArn": self.layer.arn})
