"""Whether the project already depends on `fastinit_runtime`: a fix that imports it is safe only then.

Adding `import fastinit_runtime` to code whose environment does not install it turns a working program into an
ImportError, so fixes that need the runtime library are unsafe unless the project declares it
(`fastinit-lint[runtime]` in its `pyproject.toml`, `setup.cfg`, `setup.py` or `requirements*.txt`) or some
project file imports it already.
"""

from __future__ import annotations

import glob
import os

from ._project_text import python_texts

RUNTIME = "fastinit_runtime"
_DECLARATIONS = ("pyproject.toml", "setup.cfg", "setup.py", "requirements*.txt", "requirements/*.txt")
_MENTIONS = ("fastinit-lint[runtime]", "fastinit_lint[runtime]", "fastinit-runtime", RUNTIME)
_IMPORTS = (f"import {RUNTIME}", f"from {RUNTIME}")
# What a fix title adds when its fix is unsafe for that reason alone.
UNDECLARED = f" (unsafe: adds a dependency on `{RUNTIME}`, which the project does not declare or import)"


def project_uses_runtime(context) -> bool:
    return context.shared(_uses_runtime, context.module)


def _uses_runtime(context, module) -> bool:
    return context.project_shared(_declared) or _imported(context)


def _declared(context) -> bool:
    for pattern in _DECLARATIONS:
        for path in sorted(glob.glob(os.path.join(context.settings.root, pattern))):
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read(1_000_000)
            except OSError:
                continue
            if any(mention in text for mention in _MENTIONS):
                return True
    return False


def _imported(context) -> bool:
    if any(
        t == RUNTIME or t.startswith(f"{RUNTIME}.")
        for targets in context.facts.names.scopes.get((), {}).values()
        for t in targets
    ):
        return True
    return any(filename != context.filename for filename, _ in python_texts(context, _IMPORTS))
