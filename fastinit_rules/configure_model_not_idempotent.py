"""FI005 configure-model-not-idempotent."""

from __future__ import annotations

import re

from fastinit_lint.api import (
    CONFIGURE_MODEL_SINCE,
    Invalid,
    Rule,
    Valid,
    child_nodes,
    cst,
    descendants,
    fix,
    holds_statements,
)

from ._lightning import (
    analyse_method,
    file_has_lightning_module,
    is_docstring,
    lightning_class,
    local_runs,
    method,
    runs_older_lightning,
)
from ._nodes import assign, attribute, is_not_none, return_if


def _is_guard(statement: cst.BaseStatement, context) -> bool:
    """`if <something about self>: return` — any early return that tests state on `self`."""
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return False
    body = statement.body.body if isinstance(statement.body, cst.IndentedBlock) else []
    only_return = (
        len(body) == 1
        and isinstance(body[0], cst.SimpleStatementLine)
        and all(isinstance(s, cst.Return) for s in body[0].body)
    ) or (
        isinstance(statement.body, cst.SimpleStatementSuite)
        and all(isinstance(s, cst.Return) for s in statement.body.body)
    )
    return only_return and "self" in context.code(statement.test)


def _assigned_in_init(init: cst.FunctionDef | None, attr: str, context) -> str | None:
    """The value `__init__` gives `self.attr` ("None", other code), or None when it never assigns it."""
    if init is None:
        return None
    value = None
    for statement in init.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and any(
                    isinstance(t.target, cst.Attribute)
                    and isinstance(t.target.value, cst.Name)
                    and t.target.value.value == "self"
                    and t.target.attr.value == attr
                    for t in small.targets
                ):
                    value = context.code(small.value)
    return value


class ConfigureModelNotIdempotent(Rule):
    """`configure_model` that builds layers without an early-return guard.

    ## What it flags
    A LightningModule's `configure_model` that assigns newly built modules or parameters to `self`
    (`self.x = nn.Linear(...)`, a project module, `AutoModel.from_pretrained(...)`) without first
    returning when they already exist (`if self.x is not None: return`, `hasattr(self, "x")`,
    `getattr(self, "x", None) is not None`, a boolean flag). Builds inside `if`/`else`, `try`/`except`,
    `with` and loops count, and so do builds through a method of the same class the hook calls
    (`self.model = self._load()` where `_load` returns `AutoModel.from_pretrained(...)`, or `self._build()`
    assigning layers itself), and through the methods those call in turn, to any depth (`self._setup()`
    calling `self._build_backbone()`; `_load` returning `self._from_hub()`). A block under an `if` that tests what the hook itself sets
    (`if self.model is None:`, `if not hasattr(self, "model"):`, a flag) is a guard too; an `if` on
    configuration (`self.hparams.pretrained`) is not. Hooks that only wrap existing modules (`fully_shard`,
    `parallelize_module`, `torch.compile`) are not flagged, nor is a class local to a function (a test's
    model) when that function runs its instances through exactly one `fit`/`validate`/`test`/`predict` and
    never `load_from_checkpoint`: the hook then runs once. Nor where the code must also run on a Lightning
    release before 2.1 (its project pins one, as FI008 says), which never calls a method of that name.

    ## Why it matters
    Lightning calls `configure_model` on every `fit`, `validate`, `test` and `predict` in the same process
    (`Trainer._run` -> `call._call_configure_model`), and `load_from_checkpoint` calls it too. Its
    docstring: "ensure that implementation of this hook is **idempotent**". Without the guard, a
    `trainer.validate()` after `trainer.fit()` replaces the trained weights with fresh random ones,
    silently (Lightning issues #18102, #19015).

    ## Example
    ```python
    import lightning as L
    from torch import nn


    class LitModel(L.LightningModule):
        def configure_model(self):
            self.model = nn.Transformer(self.hparams.dim)
    ```

    Use instead:
    ```python
    import lightning as L
    from torch import nn


    class LitModel(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = None

        def configure_model(self):
            if self.model is not None:
                return
            self.model = nn.Transformer(self.hparams.dim)
    ```

    ## Fix
    Inserts `if self.<first built attribute> is not None: return` at the top of the hook (after its
    docstring), and `self.<attr> = None` at the end of `__init__` when `__init__` does not set it; with no
    `__init__`, the guard reads `getattr(self, "<attr>", None)` instead.

    ## Fix safety
    Safe; unsafe when the first build runs on some paths only. Otherwise the first call behaves as before and
    later calls keep the existing modules, which is what Lightning's contract requires. Unsafe when the first
    build runs on some paths only (an `if` on configuration, a loop, an `except` handler): the guard tests that
    one attribute, which another path may not set. No fix when `__init__` already builds the attribute (see FI001).

    ## Options
    `lightning-version` (default: the oldest release the project's declarations admit): below 2.1 the rule is
    silent, since its advice needs Lightning 2.1.

    ## References
    - [`ModelHooks.configure_model`](https://lightning.ai/docs/pytorch/latest/api/lightning.pytorch.core.hooks.ModelHooks.html):
      "ensure that implementation of this hook is idempotent"
    - [`_call_configure_model`](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/pytorch/trainer/call.py#L115):
      called on every fit/validate/test/predict
    """

    code = "FI005"
    name = "configure-model-not-idempotent"
    fixable = "sometimes"
    markers = ("configure_model",)

    VALID = [
        # Lightning 1.8 has no `configure_model` hook: nothing calls this method more than the code does.
        Valid(
            """
            import pytorch_lightning as pl
            from torch import nn

            class Net(pl.LightningModule):
                def configure_model(self):
                    self.layer = nn.Linear(4096, 4096)
            """,
            files={"environment.yml": "dependencies:\n  - pip:\n    - pytorch-lightning==1.8.6\n"},
        ),
        Valid("""
            import lightning as L
            from torch import nn
            class Guarded(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.model = None
                def configure_model(self):
                    if self.model is not None:
                        return
                    self.model = nn.Linear(4, 4)
            """),
        Valid("""
            import lightning as L
            from torch import nn
            class HasAttr(L.LightningModule):
                def configure_model(self):
                    if hasattr(self, "model"):
                        return
                    self.model = nn.Linear(4, 4)
            """),
        Valid("""
            import lightning as L
            import torch
            from torch.distributed.fsdp import fully_shard
            class WrapsOnly(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.model = torch.nn.Linear(4, 4)
                def configure_model(self):
                    fully_shard(self.model)
                    self.model = torch.compile(self.model)
            """),
        Valid("""
            from torch import nn
            class NotLightning(nn.Module):
                def configure_model(self):
                    self.model = nn.Linear(4, 4)
            """),
        # Blocks that run only while the hook's own state is unset are guards too.
        Valid("""
            import lightning as L
            from torch import nn
            class BuildOnce(L.LightningModule):
                def __init__(self, pretrained=False):
                    super().__init__()
                    self.model = None
                def configure_model(self):
                    if self.model is None:
                        if self.hparams.pretrained:
                            self.model = nn.Linear(8, 8)
                        else:
                            self.model = nn.Linear(4, 4)
                    if not hasattr(self, "head"):
                        self.head = self._make_head()
                def _make_head(self):
                    return nn.Linear(4, 2)
            """),
        # A helper that only wraps what exists builds nothing.
        Valid("""
            import lightning as L
            import torch
            class Compiles(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.model = torch.nn.Linear(4, 4)
                def configure_model(self):
                    if self.hparams.get("compile"):
                        self.model = self._compiled()
                def _compiled(self):
                    return torch.compile(self.model)
            """),
        # A deeper helper the hook's helper calls only while what it builds is unset; helpers calling each
        # other end the walk.
        Valid("""
            import lightning as L
            from torch import nn
            class DeepGuard(L.LightningModule):
                def __init__(self):
                    super().__init__()
                    self.backbone = None
                def configure_model(self):
                    self._setup()
                def _setup(self):
                    if self.backbone is None:
                        self._build_backbone()
                    self._wrap()
                def _build_backbone(self):
                    self.backbone = nn.Linear(64, 64)
                def _wrap(self):
                    if self.trainer is None:
                        self._setup()
            """),
    ]
    INVALID = [
        Invalid(
            """
            import lightning as L
            from torch import nn

            class Classifier(L.LightningModule):
                def __init__(self, classes=10):
                    super().__init__()
                    self.classes = classes

                def configure_model(self):
                    \"\"\"Build the backbone.\"\"\"
                    self.backbone = nn.Linear(512, self.classes)
            """,
            rows=(9,),
            message_contains=("`self.backbone`", "fit/validate/test/predict"),
            fixed="""
            import lightning as L
            from torch import nn

            class Classifier(L.LightningModule):
                def __init__(self, classes=10):
                    super().__init__()
                    self.classes = classes
                    self.backbone = None

                def configure_model(self):
                    \"\"\"Build the backbone.\"\"\"
                    if self.backbone is not None:
                        return
                    self.backbone = nn.Linear(512, self.classes)
            """,
        ),
        Invalid(
            """
            import pytorch_lightning as pl
            from transformers import AutoModel

            class NoInit(pl.LightningModule):
                def configure_model(self):
                    self.model = AutoModel.from_pretrained("gpt2")
            """,
            rows=(5,),
            fixed="""
            import pytorch_lightning as pl
            from transformers import AutoModel

            class NoInit(pl.LightningModule):
                def configure_model(self):
                    if getattr(self, "model", None) is not None:
                        return
                    self.model = AutoModel.from_pretrained("gpt2")
            """,
        ),
        Invalid(
            """
            from lightning.pytorch import LightningModule
            from torch import nn

            class Eager(LightningModule):
                def __init__(self):
                    super().__init__()
                    self.head = nn.Linear(4, 4)

                def configure_model(self):
                    self.head = nn.Linear(8, 8)
            """,
            rows=(9,),
            message_contains=("no automatic fix: `__init__` already sets `self.head`",),
        ),
        # Inside `try`: the body always runs, so the guard the fix adds covers it.
        Invalid(
            """
            import lightning as L
            from torch import nn
            from transformers import AutoModel

            class Finetune(L.LightningModule):
                def configure_model(self):
                    try:
                        self.model = AutoModel.from_pretrained("gpt2")
                    except OSError:
                        self.model = nn.Linear(8, 8)
            """,
            rows=(6,),
            message_contains=("builds `self.model` (in a nested block)",),
            fixed="""
            import lightning as L
            from torch import nn
            from transformers import AutoModel

            class Finetune(L.LightningModule):
                def configure_model(self):
                    if getattr(self, "model", None) is not None:
                        return
                    try:
                        self.model = AutoModel.from_pretrained("gpt2")
                    except OSError:
                        self.model = nn.Linear(8, 8)
            """,
        ),
        # In an `if` on configuration: built on some paths only, so the fix (one attribute's guard) is unsafe.
        Invalid(
            """
            import lightning as L
            from torch import nn

            class Branches(L.LightningModule):
                def __init__(self, wide=False):
                    super().__init__()
                    self.save_hyperparameters()

                def configure_model(self):
                    if self.hparams.wide:
                        self.encoder = nn.Linear(64, 64)
                    else:
                        self.encoder = nn.Linear(8, 8)
            """,
            rows=(9,),
            unsafe=True,
            fixed="""
            import lightning as L
            from torch import nn

            class Branches(L.LightningModule):
                def __init__(self, wide=False):
                    super().__init__()
                    self.save_hyperparameters()
                    self.encoder = None

                def configure_model(self):
                    if self.encoder is not None:
                        return
                    if self.hparams.wide:
                        self.encoder = nn.Linear(64, 64)
                    else:
                        self.encoder = nn.Linear(8, 8)
            """,
        ),
        # Classes local to test functions are checked, each under its own function (two `Model`s here): one
        # the test runs once is left alone, one it fits and then validates is not.
        Invalid(
            """
            import lightning as L
            from torch import nn

            def test_dtype(tmp_path):
                class Model(L.LightningModule):
                    def configure_model(self):
                        self.layer = nn.Linear(2, 2)

                trainer = L.Trainer(default_root_dir=tmp_path)
                trainer.test(Model())

            def test_resume(tmp_path):
                class Model(L.LightningModule):
                    def configure_model(self):
                        self.layer = nn.Linear(2, 2)

                trainer = L.Trainer(default_root_dir=tmp_path)
                model = Model()
                trainer.fit(model)
                trainer.validate(model)
            """,
            rows=(14,),
            message_contains=("`self.layer`",),
            fixed="""
            import lightning as L
            from torch import nn

            def test_dtype(tmp_path):
                class Model(L.LightningModule):
                    def configure_model(self):
                        self.layer = nn.Linear(2, 2)

                trainer = L.Trainer(default_root_dir=tmp_path)
                trainer.test(Model())

            def test_resume(tmp_path):
                class Model(L.LightningModule):
                    def configure_model(self):
                        if getattr(self, "layer", None) is not None:
                            return
                        self.layer = nn.Linear(2, 2)

                trainer = L.Trainer(default_root_dir=tmp_path)
                model = Model()
                trainer.fit(model)
                trainer.validate(model)
            """,
        ),
        # Through a helper method of the class: one that returns the model, one that assigns layers itself.
        Invalid(
            """
            import lightning as L
            from torch import nn
            from transformers import AutoModelForCausalLM

            class Helpers(L.LightningModule):
                def __init__(self, name="gpt2"):
                    super().__init__()
                    self.name = name

                def configure_model(self):
                    self.model = self._load()

                def _load(self):
                    return AutoModelForCausalLM.from_pretrained(self.name)

            class Layers(L.LightningModule):
                def configure_model(self):
                    self._build_layers()

                def _build_layers(self):
                    self.encoder = nn.Linear(16, 16)
                    self.decoder = nn.Linear(16, 16)
            """,
            rows=(10, 17),
            message_contains=(
                "builds `self.model` through `self._load()`",
                "builds `self.encoder` through `self._build_layers()`",
            ),
            fixed="""
            import lightning as L
            from torch import nn
            from transformers import AutoModelForCausalLM

            class Helpers(L.LightningModule):
                def __init__(self, name="gpt2"):
                    super().__init__()
                    self.name = name
                    self.model = None

                def configure_model(self):
                    if self.model is not None:
                        return
                    self.model = self._load()

                def _load(self):
                    return AutoModelForCausalLM.from_pretrained(self.name)

            class Layers(L.LightningModule):
                def configure_model(self):
                    if getattr(self, "encoder", None) is not None:
                        return
                    self._build_layers()

                def _build_layers(self):
                    self.encoder = nn.Linear(16, 16)
                    self.decoder = nn.Linear(16, 16)
            """,
        ),
        # Several levels of helpers: the hook's helper calls another that builds, or returns what another builds.
        Invalid(
            """
            import lightning as L
            from torch import nn
            from transformers import AutoModel

            class Setup(L.LightningModule):
                def configure_model(self):
                    self._setup()

                def _setup(self):
                    self._build_backbone()
                    self._build_head()

                def _build_backbone(self):
                    self.backbone = nn.Linear(64, 64)

                def _build_head(self):
                    self.head = nn.Linear(64, 2)

            class Hub(L.LightningModule):
                def configure_model(self):
                    self.model = self._load()

                def _load(self):
                    return self._from_hub("gpt2")

                def _from_hub(self, name):
                    return AutoModel.from_pretrained(name)
            """,
            rows=(6, 20),
            message_contains=(
                "builds `self.backbone` through `self._setup()`",
                "builds `self.model` through `self._load()`",
            ),
            fixed="""
            import lightning as L
            from torch import nn
            from transformers import AutoModel

            class Setup(L.LightningModule):
                def configure_model(self):
                    if getattr(self, "backbone", None) is not None:
                        return
                    self._setup()

                def _setup(self):
                    self._build_backbone()
                    self._build_head()

                def _build_backbone(self):
                    self.backbone = nn.Linear(64, 64)

                def _build_head(self):
                    self.head = nn.Linear(64, 2)

            class Hub(L.LightningModule):
                def configure_model(self):
                    if getattr(self, "model", None) is not None:
                        return
                    self.model = self._load()

                def _load(self):
                    return self._from_hub("gpt2")

                def _from_hub(self, name):
                    return AutoModel.from_pretrained(name)
            """,
        ),
    ]

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        return file_has_lightning_module(facts, index, defining="configure_model") and not runs_older_lightning(
            facts, index, CONFIGURE_MODEL_SINCE
        )

    def __init__(self, context) -> None:
        super().__init__(context)
        self._functions: list[cst.FunctionDef] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(node)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.pop()

    def _runs_once(self, qualname: str) -> bool:
        """A class local to a function (a test's model) whose every run that function shows: exactly one
        `trainer.fit/validate/test/predict` of its instances and no `load_from_checkpoint`. The hook then runs
        once, so nothing trained can be replaced."""
        runs = local_runs(self.context, qualname)
        return (
            runs is not None
            and len([t for t in runs if t.call in _RUNS_HOOK]) == 1
            and "load_from_checkpoint" not in self.context.code(self._functions[-1])
        )

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        context = self.context
        hook = method(node, "configure_model")
        if lightning_class(context) is None or hook is None or not isinstance(hook.body, cst.IndentedBlock):
            return
        build = _first_unguarded_build(context, node, hook)
        if build is None or self._runs_once(lightning_class(context)):
            return
        attr, where, conditional = build
        init = method(node, "__init__")
        in_init = _assigned_in_init(init, attr, context)
        message = (
            f"`configure_model` builds `self.{attr}`{where} without an early-return guard; Lightning calls it "
            f"on every fit/validate/test/predict and in `load_from_checkpoint`, so trained weights get replaced"
        )
        if in_init is not None and in_init != "None":
            reason = f"`__init__` already sets `self.{attr}` (move that construction here first, FI001)"
            self.report(hook, message, no_fix_reason=reason)
            return
        # Without an __init__ to give it a placeholder, the attribute may not exist on the first call.
        existing = (
            attribute("self", attr)
            if init is not None
            else cst.Call(
                cst.Name("getattr"),
                [cst.Arg(cst.Name("self")), cst.Arg(cst.SimpleString(f'"{attr}"')), cst.Arg(cst.Name("None"))],
            )
        )
        guard = return_if(is_not_none(existing))
        body = list(hook.body.body)
        at = 1 if body and is_docstring(body[0]) else 0
        new_hook = hook.with_changes(body=hook.body.with_changes(body=[*body[:at], guard, *body[at:]]))
        new_init = init
        if init is not None and in_init is None:
            placeholder = assign(attribute("self", attr), cst.Name("None"))
            new_init = init.with_changes(body=init.body.with_changes(body=[*init.body.body, placeholder]))
        new_body = [new_hook if s is hook else new_init if s is init else s for s in node.body.body]
        # A build on some paths only: the guard tests one attribute, which other paths may leave unset.
        self.report(
            hook,
            message,
            fix=fix(
                {node.body: node.body.with_changes(body=new_body)},
                f"Return early when `self.{attr}` already exists",
                unsafe=conditional,
            ),
        )


_RUNS_HOOK = frozenset({"fit", "validate", "test", "predict"})  # the Trainer calls that call `configure_model`
_STATE_PROBES = re.compile(r"\b(?:hasattr|getattr)\(\s*self\b")


def _self_attr(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return node.attr.value
    return None


def _written(function: cst.FunctionDef) -> set[str]:
    """Attributes of `self` the function assigns anywhere."""
    targets = [
        n.target
        for n in descendants(function.body, (cst.FunctionDef, cst.ClassDef, cst.Lambda))
        if isinstance(n, (cst.AssignTarget, cst.AnnAssign))
    ]
    return {attr for attr in map(_self_attr, targets) if attr}


def _tests_state(context, test: cst.BaseExpression, written: set[str]) -> bool:
    """Whether an `if` tests what the hook itself sets (`self.model is None`, a `self._built` flag,
    `hasattr(self, ...)`): its block then runs once, the guard's job. Tests of configuration
    (`self.hparams.pretrained`, `self.trainer...`) are not guards."""
    code = context.code(test)
    return bool(_STATE_PROBES.search(code)) or any(re.search(rf"\bself\.{re.escape(a)}\b", code) for a in written)


def _lines(context, body, written: set[str], conditional: bool = False, top: bool = True):
    """(simple statement, whether it runs only on some paths) for a block and the blocks nested in it, in order,
    skipping `if` blocks that test the hook's own state and nested definitions; a top-level early-return
    guard ends the walk (what follows it is guarded)."""
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield statement, conditional
        elif isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        elif top and _is_guard(statement, context):
            return
        elif isinstance(statement, cst.If) and _tests_state(context, statement.test, written):
            continue
        else:
            # Blocks that may not run (or run more than once): a build inside is conditional. (A `try` body
            # runs, its handlers and `else` may not; a `with` body runs.) Named here, not at import: naming
            # LibCST's classes at import would import LibCST on every run, warm ones included.
            nested = conditional or isinstance(statement, (cst.If, cst.For, cst.While, cst.Match))
            for child in child_nodes(statement):
                if isinstance(child, cst.If):  # `elif`
                    yield from _lines(context, [child], written, True, False)
                elif holds_statements(child):
                    block = child if isinstance(child, cst.IndentedBlock) else getattr(child, "body", None)
                    if isinstance(block, cst.IndentedBlock):
                        yield from _lines(
                            context, block.body, written, nested or not isinstance(child, cst.IndentedBlock), False
                        )


RETURNED = "__returned__"  # the name a helper's `return X` is analysed under


def _returned_as_assignment(line: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    """`return X` as `__returned__ = X`, so the method analysis sees whether X is a module."""
    small = line.body[0]
    if len(line.body) == 1 and isinstance(small, cst.Return) and small.value is not None:
        return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(RETURNED))], small.value)])
    return line


def _builds(context, function: cst.FunctionDef, lines: list[tuple[cst.SimpleStatementLine, bool]]):
    """(line, attributes of `self` it assigns a newly built module to, conditional) for the lines that build,
    in order; a returned module counts as assigned to RETURNED."""
    analysis = analyse_method(
        context, function.with_changes(body=function.body.with_changes(body=[l for l, _ in lines]))
    )
    if analysis is None:
        return []
    conditional = dict((id(line), c) for line, c in lines)
    return [
        (s.node, (s.writes_self | ({RETURNED} & s.stores)), conditional[id(s.node)])
        for s in analysis.statements
        if s.builds and (s.writes_self or RETURNED in s.stores)
    ]


def _self_calls(node: cst.CSTNode) -> list[str]:
    """Names of the methods called on `self` under `node`."""
    return [
        n.func.attr.value
        for n in descendants(node, (cst.Lambda,))
        if isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute) and _self_attr(n.func)
    ]


class _Builds:
    """The unguarded builds of a class's methods, each method analysed once: a hook's helpers often share
    helpers of their own."""

    def __init__(self, context, classdef: cst.ClassDef) -> None:
        self.context, self.classdef = context, classdef
        self._done: dict[str, list] = {}

    def of_helper(self, name: str) -> list[tuple[cst.SimpleStatementLine, set[str], bool, str | None]]:
        """What a method of the class (called as `self.<name>()`) builds. A method already being analysed
        (helpers calling each other) counts as building nothing there, so the walk ends."""
        if name not in self._done:
            self._done[name] = []
            helper = method(self.classdef, name)
            if helper is not None and name != "configure_model" and isinstance(helper.body, cst.IndentedBlock):
                self._done[name] = self.of(helper)
        return self._done[name]

    def of(self, function: cst.FunctionDef) -> list[tuple[cst.SimpleStatementLine, set[str], bool, str | None]]:
        """(line, attributes of `self` it builds, whether only on some paths, the method of the class it builds
        them through or None) for each build outside a guard, in order: the function's own statements (a
        returned module as RETURNED) and, to any depth, the methods of the class they call (`self._setup()`
        calling `self._build_backbone()`, `return self._from_hub()`)."""
        calls = {name: self.of_helper(name) for name in dict.fromkeys(_self_calls(function.body))}
        # An `if` testing what a called helper builds guards it as much as one testing what the function sets.
        written = _written(function) | {a for builds in calls.values() for _, attrs, _, _ in builds for a in attrs}
        lines = [(_returned_as_assignment(line), c) for line, c in _lines(self.context, function.body.body, written)]
        own = {id(line): (attrs, c) for line, attrs, c in _builds(self.context, function, lines)}
        found = []
        for line, conditional in lines:
            if id(line) in own:
                found.append((line, *own[id(line)], None))
            for name in _self_calls(line):
                for _, attrs, nested, _ in calls.get(name, []):
                    assigned = _assigned_call_result(line, name)
                    attrs = (attrs - {RETURNED}) | ({assigned} if RETURNED in attrs and assigned else set())
                    if attrs:
                        found.append((line, attrs, conditional or nested, name))
        return found


def _first_unguarded_build(context, classdef: cst.ClassDef, hook: cst.FunctionDef) -> tuple[str, str, bool] | None:
    """(attribute, where it is built for the message, whether only on some paths) of the first module the hook
    assigns to `self` outside a guard: in its own statements, nested blocks included, or through the methods
    of the class it calls (`self.model = self._build()`, `self._build_layers()`, and the methods those call)."""
    for line, attrs, conditional, through in _Builds(context, classdef).of(hook):
        attrs = attrs - {RETURNED}  # what the hook itself returns is not kept on `self`
        if attrs:
            where = (
                f" through `self.{through}()`" if through else "" if line in hook.body.body else " (in a nested block)"
            )
            return sorted(attrs)[0], where, conditional
    return None


def _assigned_call_result(line: cst.SimpleStatementLine, name: str) -> str | None:
    """`x` for `self.x = self.<name>(...)`; RETURNED for `return self.<name>(...)` (rewritten as an assignment
    to RETURNED)."""
    small = line.body[0]
    if (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.value, cst.Call)
        and isinstance(small.value.func, cst.Attribute)
        and small.value.func.attr.value == name
    ):
        target = small.targets[0].target
        return RETURNED if isinstance(target, cst.Name) and target.value == RETURNED else _self_attr(target)
    return None
