"""FI900 unused-suppression."""

from __future__ import annotations

from fastinit_lint.api import UNUSED_SUPPRESSION_CODE, UNUSED_SUPPRESSION_NAME, Rule


class UnusedSuppression(Rule):
    """A suppression comment that suppresses nothing.

    ## What it flags
    `# noqa: FI001`, `# fastinit: ignore[FI001]` or a file-level `# fastinit: noqa` that did not
    silence any finding of an enabled fastinit-lint rule. Only reported with
    `--report-unused-suppressions`. Codes of other tools (`# noqa: E501`) and bare `# noqa` are left
    alone, since they may serve flake8 or ruff.

    ## Why it matters
    A stale suppression hides the next real finding on that line: after a refactor, the large layer
    that really does need `configure_model` would go unreported.

    ## Example
    ```python
    from torch import nn

    head = nn.Linear(16, 2)  # noqa: FI001
    ```

    Use instead:
    ```python
    from torch import nn

    head = nn.Linear(16, 2)
    ```

    ## Fix
    Removes the unused codes from the comment, or the comment when none is left (the whole line when the
    comment was alone on it), as ruff's RUF100 does. A comment holding anything else (text, another
    tool's directive after ours) is left to you.

    ## Fix safety
    Safe: a suppression that silenced nothing changes no finding, and code is never touched.

    ## References
    - [ruff's `unused-noqa` (RUF100)](https://docs.astral.sh/ruff/rules/unused-noqa)
    """

    code = UNUSED_SUPPRESSION_CODE
    name = UNUSED_SUPPRESSION_NAME
    fixable = "sometimes"
