"""Fine-tune a new head on a pretrained backbone with Fabric + DDP."""

import lightning as L
import torch

from mylm.model import GPT


def main():
    fabric = L.Fabric(strategy="ddp", precision="bf16-true")
    with fabric.init_module(empty_init=True):
        model = GPT()
    model.load_state_dict(torch.load("backbone.pt"), strict=False)
    with fabric.init_module(empty_init=True):
        probe = GPT(depth=2)
    return fabric.setup(model), fabric.setup(probe)
