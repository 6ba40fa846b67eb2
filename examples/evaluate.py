"""Evaluate checkpoints on one GPU in bf16."""

import lightning as L

from mylm.model import GPT


def evaluate(path):
    trainer = L.Trainer(precision="bf16-true")
    with trainer.init_module():
        model = GPT.load_from_checkpoint(path)
    trainer.test(model)
    baseline = GPT.load_from_checkpoint("baseline.ckpt")
    trainer.test(baseline)
