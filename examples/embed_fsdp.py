"""Fine-tune a scaled embedding table with Fabric + FSDP, built on the meta device."""

import lightning as L

from mylm.blocks import ScaledEmbedding


def main():
    fabric = L.Fabric(strategy="fsdp")
    with fabric.init_module(empty_init=True):
        table = ScaledEmbedding(50_304, 1024)
    table = fabric.setup(table)
    fabric.load_raw("table.pt", table)
    return table
