"""FI012 ambiguous-precision-alias."""

from __future__ import annotations

from fastinit_lint.lazy_libcst import cst

from fastinit_lint.facts import FABRIC_QNAMES, TRAINER_QNAMES
from fastinit_lint.lightning_facts import LEGACY_MIXED
from fastinit_lint.rule import Invalid, Rule, Valid, fix

from ._flow import keyword, literal, own_calls


class AmbiguousPrecisionAlias(Rule):
    """`precision=16`, `"16"` or `"bf16"`: legacy aliases that mean *mixed* precision.

    ## What it flags
    The `precision` argument of a `Trainer` or `Fabric` (any of `lightning`, `lightning.pytorch`,
    `pytorch_lightning`, `lightning.fabric`, `lightning_fabric`) given as `16`, `"16"` or `"bf16"`.

    ## Why it matters
    Lightning's connector (`fabric/connector.py`) maps `16`/`"16"` to `"16-mixed"` and `"bf16"` to
    `"bf16-mixed"`, warning that the alias "is supported for historical reasons but its usage is
    discouraged". Mixed precision keeps parameters in float32, so `init_module()` does **not** build the
    model in half precision, which is what readers of `precision=16` usually expect; `"16-true"` /
    `"bf16-true"` is the flag that halves parameter memory.

    ## Example
    ```python
    trainer = L.Trainer(precision=16)
    ```

    Use instead:
    ```python
    trainer = L.Trainer(precision="16-mixed")  # or "16-true" if you meant half-precision weights
    ```

    ## Fix
    Replaces the alias with its explicit meaning (`"16-mixed"` / `"bf16-mixed"`).

    ## Fix safety
    Safe: Lightning resolves the alias to exactly that value.
    """

    code = "FI012"
    name = "ambiguous-precision-alias"
    fixable = "always"
    markers = ("precision",)

    VALID = [
        Valid("import lightning as L\nL.Trainer(precision='bf16-mixed')\n"),
        Valid("import lightning as L\nL.Fabric(precision='16-true')\n"),
        Valid("class Trainer:\n    def __init__(self, precision):\n        pass\nTrainer(precision=16)\n"),
    ]
    INVALID = [
        Invalid("import lightning as L\ntrainer = L.Trainer(max_epochs=1, precision=16)\n", rows=(2,),
                fixed="import lightning as L\ntrainer = L.Trainer(max_epochs=1, precision=\"16-mixed\")\n",
                message_contains=("float32",)),
        Invalid("from lightning_fabric import Fabric as F\nfabric = F(precision='bf16')\n", rows=(2,),
                fixed="from lightning_fabric import Fabric as F\nfabric = F(precision=\"bf16-mixed\")\n"),
        Invalid("import pytorch_lightning as pl\npl.Trainer(\n    precision=\"16\",\n)\n", rows=(3,),
                fixed="import pytorch_lightning as pl\npl.Trainer(\n    precision=\"16-mixed\",\n)\n"),
        # Inside a function: reported once (the module-level pass does not descend into `def`s).
        Invalid("import lightning as L\n\ndef main():\n    trainer = L.Trainer(precision=16)\n", rows=(4,),
                fixed="import lightning as L\n\ndef main():\n    trainer = L.Trainer(precision=\"16-mixed\")\n"),
    ]

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        # Phase 1 records every Trainer/Fabric call, bound or not, with its precision when it is a literal.
        return any(runner.precision in LEGACY_MIXED for runner in facts.runners)

    def visit_Module(self, node: cst.Module) -> None:
        for call in own_calls(node):
            self._check(call)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for call in own_calls(node):
            self._check(call)

    def _check(self, node: cst.Call) -> None:
        if not self.context.matches(node.func, TRAINER_QNAMES | FABRIC_QNAMES):
            return
        arg = keyword(node, "precision")
        value = literal(arg.value) if arg else None
        if isinstance(value, bool) or not isinstance(value, (int, str)) or str(value) not in LEGACY_MIXED:
            return
        explicit = LEGACY_MIXED[str(value)]
        self.report(arg, f"`precision={self.context.code(arg.value)}` is Lightning's legacy alias for \"{explicit}\": "
                         f"parameters stay float32 even inside `init_module()`; write \"{explicit}\" (or the \"-true\" "
                         f"flag if half-precision weights were intended)",
                    fix=fix({arg.value: cst.SimpleString(f'"{explicit}"')}, f'Replace with "{explicit}"'))
