"""Fine-tune with Fabric + FSDP, loading pretrained weights."""

import lightning as L
import torch

from mylm.model import GPT


def main():
    fabric = L.Fabric(strategy="fsdp", precision="bf16-true")
    with fabric.init_module(empty_init=True):
        model = GPT()
    fabric.load_raw("pretrained.pt", model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    model, optimizer = fabric.setup(model, optimizer)
    return model, optimizer
