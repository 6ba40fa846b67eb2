"""A classifier whose init lives in `__init__` (`self.apply`), built on meta for FSDP: that init is lost."""

import lightning as L
from torch import nn


class Classifier(nn.Module):
    def __init__(self, features: int = 256, classes: int = 10):
        super().__init__()
        self.body = nn.Linear(features, features)
        self.head = nn.Linear(features, classes)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)


def main():
    fabric = L.Fabric(strategy="fsdp")
    with fabric.init_module(empty_init=True):
        model = Classifier()
    return fabric.setup(model)
