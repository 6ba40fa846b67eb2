"""Shard a model with DeepSpeed ZeRO-3 in Fabric."""

import lightning as L

from mylm.model import GPT


def main():
    fabric = L.Fabric(strategy="deepspeed_stage_3", precision="bf16-true")
    with fabric.init_module(empty_init=False):
        model = GPT()
    return fabric.setup(model)
