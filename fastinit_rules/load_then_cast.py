"""FI016 load-then-cast."""

from __future__ import annotations

from fastinit_lint.api import Invalid, Valid, cst, fix

from ._casts import UnclearCast, cast_target
from ._flow import Event, Flow, FlowRule, Kind, build_size, keyword, literal, small_enough, wrap_in_with
from ._nodes import keyword_arg
from ._runtime_dependency import RUNTIME, UNDECLARED, project_uses_runtime

_HALF = frozenset({"torch.float16", "torch.half", "torch.bfloat16"})
_MOVES = frozenset({"half", "bfloat16", "to", "cuda"})
# `from_pretrained` keywords that already choose the load's dtype or device (`dtype` since transformers 4.56).
_DTYPE_KEYWORDS = ("torch_dtype", "dtype")


class LoadThenCast(FlowRule):
    """A model loaded in float32 and then cast to half precision: load it in that dtype instead.

    ## What it flags
    A Hugging Face `transformers` class's `from_pretrained(...)` followed, chained or in the next statement on
    the same variable, by a cast to float16/bfloat16 (`.half()`, `.bfloat16()`, `.to(torch.bfloat16)`,
    `.to(dtype=torch.float16)`), when `from_pretrained` is not already given `torch_dtype=`/`dtype=`; a
    move to an accelerator in the same chain (`.cuda()`, `.to("cuda")`, `.to(torch.device("cuda", 0))`) adds
    `device_map=` advice. The size of a pretrained name cannot be known statically: such findings say so.
    Also a project LightningModule's `Cls.load_from_checkpoint(...)` followed by a cast to float16/bfloat16, when no Trainer or Fabric is in scope (FI003 covers those) and the class is not
    known to be below `create-then-cast-threshold` at its defaults. Not reported: a move alone (it copies
    the model once, the transfer any load without `device_map=` makes), a cast to float32/float64 or to a
    variable (`.to(device)`: cannot tell a device from a dtype), and loads inside an init context.

    ## Why it matters
    transformers 4 loads every model in float32 unless given `torch_dtype=` (`modeling_utils.py`
    `from_pretrained`: "If not specified - the model will get loaded in `torch.float` (fp32)"); transformers 5
    defaults to `dtype="auto"`, the checkpoint's own dtype, which is float32 for float32 checkpoints. The
    cast then allocates a second copy: a 13B LLaMA loaded with
    `LlamaForCausalLM.from_pretrained(path).to(torch.bfloat16).cuda()` peaks at 52 GB of float32 on the
    CPU for a 26 GB model. `device_map=` places the weights on the device as they are loaded.
    `load_from_checkpoint` builds the LightningModule in float32 (running its initialization), loads the
    float32 checkpoint into it, and the cast copies it again; built under a default dtype, the model is
    allocated once, in the target dtype.

    ## Example
    ```python
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained("gpt2-xl").to(torch.bfloat16).cuda()
    ```

    Use instead:
    ```python
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained("gpt2-xl", torch_dtype=torch.bfloat16).to(torch.bfloat16).cuda()
    ```

    ## Fix
    `from_pretrained`: adds `torch_dtype=<the cast's dtype>` (accepted by transformers 4 and 5; 5 also calls
    it `dtype=`) and keeps the cast, which is then free: transformers keeps a model's
    `_keep_in_fp32_modules` in float32 when loading in float16, and the kept cast still converts them, so
    every parameter ends in the dtype it had before. `load_from_checkpoint`: builds it inside
    `with fastinit_runtime.init_module(dtype=<the cast's dtype>):` (adding `import fastinit_runtime`), cast
    kept.

    No fix adds `device_map=`: transformers 4 raises without the `accelerate` package, and transformers 5
    reads `device_map="cuda"` as `cuda:<LOCAL_RANK>` where `.cuda()` means the current device.

    ## Fix safety
    Safe; unsafe for the `load_from_checkpoint` fix in a project without `fastinit_runtime`. The parameters
    end in the same dtype and device. The `load_from_checkpoint` fix is unsafe when the
    project neither declares the runtime library (`fastinit-lint[runtime]`) nor imports `fastinit_runtime`:
    the import it adds would fail where the library is not installed. The `load_from_checkpoint` fix computes floating
    buffers built in `__init__` (a rotary table) in the target dtype instead of casting them from float32
    afterwards, as FI007's fix does.

    ## Options
    `create-then-cast-threshold` (parameters, default 100,000,000): `load_from_checkpoint` of a class known
    to be smaller at its defaults is not reported. Pretrained names are always reported (size unknown).

    ## References
    - [`PreTrainedModel.from_pretrained`](https://huggingface.co/docs/transformers/v4.56.0/main_classes/model)
      (`torch_dtype`, `device_map`)
    - [core/saving.py](https://github.com/Lightning-AI/pytorch-lightning/blob/2.6.5/src/lightning/pytorch/core/saving.py)
      (`_load_from_checkpoint`)
    - Source lines read: transformers 5.23 `modeling_utils.py`: `from_pretrained`'s `dtype` docs (defaults to
      `"auto"`; `torch_dtype` kept for backward compatibility), `_keep_in_fp32_modules`;
      `integrations/accelerate.py` `check_and_set_device_map` (`"cuda"` is `cuda:<LOCAL_RANK>`). Lightning 2.6.6
      `pytorch/core/saving.py:60` `_load_from_checkpoint` (builds the class in `_load_state`, loads, then
      `model.to(device)`). TinyLlama `speculative_decoding/instruct_hf_assisted_decoding.py:22`
      (`.from_pretrained(...).half()`).
    """

    code = "FI016"
    name = "load-then-cast"
    fixable = "sometimes"
    markers = ("from_pretrained(", "load_from_checkpoint(")

    VALID = [
        Valid("""
            import torch
            from transformers import AutoModelForCausalLM
            model = AutoModelForCausalLM.from_pretrained("gpt2", torch_dtype=torch.bfloat16).to(torch.bfloat16)
            """),
        Valid("""
            from transformers import AutoModelForCausalLM
            model = AutoModelForCausalLM.from_pretrained("gpt2").to("cpu")
            """),
        # `device` may be the CPU (`"cuda" if torch.cuda.is_available() else "cpu"`), or even a dtype.
        Valid("""
            from transformers import AutoModel
            def load(device):
                model = AutoModel.from_pretrained("bert-base-uncased").to(device)
                return model
            """),
        # nanoGPT's own `GPT.from_pretrained` is not transformers': no `torch_dtype=` to pass.
        Valid(
            """
            import torch
            from model import GPT
            model = GPT.from_pretrained("gpt2").to(torch.bfloat16)
            """,
            files={
                "model.py": "class GPT:\n    @classmethod\n    def from_pretrained(cls, name):\n        return cls()\n"
            },
        ),
        Valid("""
            import torch
            from transformers import AutoModel
            model = AutoModel.from_pretrained("gpt2").float()
            """),
        # A move alone copies the model once: the transfer any load without `device_map=` makes.
        Valid("""
            from transformers import AutoModelForSeq2SeqLM
            model = AutoModelForSeq2SeqLM.from_pretrained("t5-base").cuda()
            """),
    ]
    INVALID = [
        Invalid(
            """
            import torch
            from transformers import LlamaForCausalLM

            def load(path):
                model = LlamaForCausalLM.from_pretrained(path).to(torch.bfloat16).cuda()
                return model
            """,
            rows=(5,),
            message_contains=(
                "loaded by `LlamaForCausalLM.from_pretrained(...)` in float32",
                "then `.to()`, `.cuda()`",
                "size unknown: a pretrained name",
                "pass `torch_dtype=torch.bfloat16`",
                '`device_map="cuda"` would also load it onto the device directly',
            ),
            fixed="""
            import torch
            from transformers import LlamaForCausalLM

            def load(path):
                model = LlamaForCausalLM.from_pretrained(
                    path, torch_dtype=torch.bfloat16
                ).to(torch.bfloat16).cuda()
                return model
            """,
        ),
        # TinyLlama's speculative decoding script: the cast is fixed, the variable device move stays.
        Invalid(
            """
            import torch
            from transformers import AutoModelForCausalLM
            device = "cuda" if torch.cuda.is_available() else "cpu"
            assistant_model = AutoModelForCausalLM.from_pretrained("PY007/TinyLlama-1.1B-Chat-v0.1").half().to(device)
            """,
            rows=(4,),
            message_contains=("then `.half()`", "pass `torch_dtype=torch.float16`"),
            fixed="""
            import torch
            from transformers import AutoModelForCausalLM
            device = "cuda" if torch.cuda.is_available() else "cpu"
            assistant_model = AutoModelForCausalLM.from_pretrained(
                "PY007/TinyLlama-1.1B-Chat-v0.1", torch_dtype=torch.float16
            ).half().to(device)
            """,
        ),
        # A cast in the next statement; the fix keeps it.
        Invalid(
            """
            import torch
            import transformers
            model = transformers.AutoModel.from_pretrained("t5-base")
            model = model.to(dtype=torch.float16)
            """,
            rows=(3,),
            fixed="""
            import torch
            import transformers
            model = transformers.AutoModel.from_pretrained("t5-base", torch_dtype=torch.float16)
            model = model.to(dtype=torch.float16)
            """,
        ),
        Invalid(
            """
            import torch
            from task import GPT

            def export(path):
                model = GPT.load_from_checkpoint(path).to(torch.bfloat16)
                torch.save(model.state_dict(), "model.pt")
            """,
            rows=(5,),
            message_contains=(
                "loaded by `GPT.load_from_checkpoint(...)` in float32",
                "201,326,592 parameters",
                "`fastinit_runtime.init_module(dtype=torch.bfloat16)`",
            ),
            files={
                "task.py": """
                import lightning as L
                from torch import nn

                class GPT(L.LightningModule):
                    def __init__(self, vocab=65_536, dim=3072):
                        super().__init__()
                        self.embed = nn.Embedding(vocab, dim)
                """
            },
            unsafe=True,  # the project neither declares nor imports fastinit_runtime
            fixed="""
            import torch
            from task import GPT
            import fastinit_runtime

            def export(path):
                with fastinit_runtime.init_module(dtype=torch.bfloat16):
                    model = GPT.load_from_checkpoint(path).to(torch.bfloat16)
                torch.save(model.state_dict(), "model.pt")
            """,
        ),
    ]

    @classmethod
    def relevant(cls, facts, index, settings) -> bool:
        return facts.load_cast_hint

    def check_flow(self, flow: Flow) -> None:
        for event in flow.events:
            if (
                event.build is None
                or event.build.model not in ("pretrained", "checkpoint")
                or event.block
                or event.generic_init
            ):
                continue
            kind = event.build.model
            casts, separate = [c for c in event.build.chain if c.func.attr.value in _MOVES], None
            if not casts:
                following = [
                    e
                    for e in flow.after(event)
                    if e.position == event.position + 1
                    and e.var == event.var
                    and e.kind is Kind.CAST
                    and e.call.func.attr.value in _MOVES
                ]
                if not following:
                    continue
                separate = following[0].call
                casts = [separate]
            dtype, device = self._half_dtype(casts), self._accelerator(casts)
            if kind == "pretrained" and self._transformers(event):
                self._pretrained(event, casts, dtype, device)
            elif (
                kind == "checkpoint"
                and dtype is not None
                and not flow.runners
                and self._lightning(event)
                and not small_enough(self.context, event, self.context.settings.create_then_cast_threshold)
            ):
                self._checkpoint(event, casts, dtype)

    def _targets(self, casts: list[cst.Call]) -> list[tuple[str | None, str | None]]:
        """(device, dtype) of each cast that can be told; the others (`.to(device)`) are left alone."""
        found = []
        for call in casts:
            try:
                found.append(cast_target(self.context, [call]))
            except UnclearCast:
                continue
        return found

    def _half_dtype(self, casts: list[cst.Call]) -> str | None:
        return next(
            (
                dtype
                for _, dtype in self._targets(casts)
                if dtype is not None and self.context.matches(cst.parse_expression(dtype), _HALF)
            ),
            None,
        )

    def _accelerator(self, casts: list[cst.Call]) -> str | None:
        for device, _ in self._targets(casts):
            expression = cst.parse_expression(device) if device is not None else None
            if isinstance(expression, cst.Call) and expression.args:  # torch.device("cuda", 0)
                name = literal(expression.args[0].value)
            else:
                name = literal(expression)
            if isinstance(name, str) and not name.startswith("cpu"):
                return device
        return None

    def _transformers(self, event: Event) -> bool:
        return any(q.startswith("transformers.") for q in self.context.qualified_names(event.call.func.value))

    def _lightning(self, event: Event) -> bool:
        index = self.context.index
        return any(
            index.canonical(q) in index.classes and index.is_lightning_module(index.canonical(q))
            for q in self.context.qualified_names(event.call.func.value)
        )

    def _message(self, event: Event, casts: list[cst.Call], size: str) -> str:
        shown = ", ".join(f"`.{c.func.attr.value}()`" for c in casts)
        loader = f"{self.context.code(event.call.func).strip()}(...)"
        return f"`{event.var}` is loaded by `{loader}` in float32 ({size}), then {shown}: a full copy on the CPU first"

    def _pretrained(self, event: Event, casts: list[cst.Call], dtype: str | None, device: str | None) -> None:
        call = event.call
        if dtype is None or any(keyword(call, k) for k in _DTYPE_KEYWORDS):
            return  # a move alone copies the model once: the transfer any load without `device_map=` makes
        message = self._message(
            event,
            casts,
            "transformers 4's default; transformers 5 loads the checkpoint's own "
            "dtype; size unknown: a pretrained name",
        )
        message += f"; pass `torch_dtype={dtype}` to load it in that dtype"
        if device is not None and not keyword(call, "device_map"):
            message += (
                f"; `device_map={device}` would also load it onto the device directly (needs `accelerate` with "
                f"transformers 4)"
            )
        argument = keyword_arg("torch_dtype", cst.parse_expression(dtype))
        args = [*call.args[:-1], call.args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)] if call.args else []
        changes = {call: call.with_changes(args=[*args, argument])}
        self.report(
            event.node,
            message,
            fix=fix(changes, f"Pass `torch_dtype={dtype}` to `from_pretrained` (the cast stays, now free)"),
        )

    def _checkpoint(self, event: Event, casts: list[cst.Call], dtype: str) -> None:
        message = self._message(event, casts, build_size(self.context, event).describe())
        context_code = f"{RUNTIME}.init_module(dtype={dtype})"
        message += f"; build it in `{context_code}`, where it is allocated once, in that dtype"
        line = event.node
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
            self.report(line, message, no_fix_reason="the statement shares its line with others")
            return
        unsafe = not project_uses_runtime(self.context)
        title = f"Load inside `{context_code}` (the cast stays, now free)" + (UNDECLARED if unsafe else "")
        self.report(
            line,
            message,
            fix=fix({line: wrap_in_with(line, context_code)}, title, unsafe=unsafe, imports=((RUNTIME, None),)),
        )
