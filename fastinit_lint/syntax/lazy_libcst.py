"""`cst`: libcst, imported on first attribute access.

Warm runs (every result cached) never parse with LibCST, and importing it costs ~0.25 s, a third of such a
run. `importlib.util.LazyLoader` cannot help on Python 3.11 (the import statement itself reads `__spec__`,
which loads the module), so modules write `from fastinit_lint.syntax.lazy_libcst import cst` instead of
`import libcst as cst`, and define LibCST subclasses inside functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING


class _LibCST:
    def __getattr__(self, name: str):
        import libcst

        value = getattr(libcst, name)
        setattr(self, name, value)
        return value


if TYPE_CHECKING:  # the type checker reads `cst.Module` and friends as LibCST's own classes
    import libcst as cst
else:
    cst = _LibCST()
