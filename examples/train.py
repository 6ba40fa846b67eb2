"""Pre-train the GPT with FSDP (fastinit-lint reads this strategy to judge src/mylm/model.py)."""

import lightning as L

from mylm.model import GPT


def main():
    trainer = L.Trainer(strategy="fsdp", precision="bf16", max_steps=100)
    with trainer.init_module():
        model = GPT()
    trainer.fit(model)


if __name__ == "__main__":
    main()
