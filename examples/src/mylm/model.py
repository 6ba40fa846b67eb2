import lightning as L
import torch
from torch import nn

from .blocks import Block

VOCAB = 50_304


class GPT(L.LightningModule):
    def __init__(self, dim: int = 1024, depth: int = 12, heads: int = 16):
        super().__init__()
        self.save_hyperparameters()
        # Built eagerly on every rank, in float32, before FSDP can shard anything.
        self.embed = nn.Embedding(VOCAB, dim)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.head = nn.Linear(dim, VOCAB, bias=False)
        self.head.weight = self.embed.weight  # weight tying

    def forward(self, idx):
        x = self.embed(idx)
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    def training_step(self, batch, batch_idx):
        idx, targets = batch
        logits = self(idx)
        return nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=3e-4)


class Classifier(L.LightningModule):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.backbone = None

    def configure_model(self):
        # Re-creates the backbone on every fit/validate/test: trained weights are silently replaced.
        self.backbone = nn.Sequential(nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 10))

    def configure_sharded_model(self):
        pass
