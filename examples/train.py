"""Train the GPT example with FSDP (the strategy fastinit-lint reads to judge model.py)."""

import lightning as L
import torch

from mylm.model import GPT


def main():
    trainer = L.Trainer(strategy="fsdp", precision="bf16", max_steps=100)
    with trainer.init_module():
        model = GPT()
    trainer.fit(model)

    fabric = L.Fabric(precision="bf16-true")
    big = torch.nn.Transformer(d_model=1024).half()
    return big


if __name__ == "__main__":
    main()
