"""Start a new rule: `python scripts/new_rule.py --code FI0xx --name kebab-name [--root DIR]`.

Writes fastinit_rules/<name>.py with every documentation section, a valid and an invalid example that the
harness passes (a placeholder check to replace), and regenerates docs/rules. Then edit that one file:
the registry finds the rule by itself (CONTRIBUTING.md, "Adding a rule").
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

TEMPLATE = '''"""{code} {name}."""

from __future__ import annotations

from fastinit_lint.api import Invalid, Rule, Valid, cst

# TODO: what the rule looks for; a placeholder until then.
FLAGGED = frozenset({{"example.flagged"}})


class {cls}(Rule):
    """TODO: one sentence, what is flagged (it is the rule's summary in `fastinit-lint rules`).

    ## What it flags
    TODO: the code pattern, and what is deliberately not flagged.

    ## Why it matters
    TODO: what Lightning/torch does with it, with the evidence (source file, issue, measured behaviour).

    ## Example
    ```python
    from example import flagged
    flagged()
    ```

    Use instead:
    ```python
    def flagged():
        pass
    flagged()
    ```

    ## Fix
    None yet.

    ## Options
    None.

    ## References
    - TODO: links to the Lightning/torch documentation or source this rule relies on.
    """

    code = "{code}"
    name = "{name}"
    markers = ("flagged",)  # text a file must hold for the rule to run on it (the cheap gate)

    VALID = [
        Valid("""
            def flagged():
                pass
            flagged()
            """, name="a-local-function"),
    ]
    INVALID = [
        Invalid("""
            from example import flagged
            flagged()
            """, at=((2, 1),), name="the-imported-function"),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if self.context.matches(node.func, FLAGGED):
            self.report(node, f"`{{self.context.code(node.func)}}` is flagged (TODO: the message names the evidence)")
'''


def _taken(rules_dir: str) -> tuple[set[str], set[str]]:
    codes, names = set(), set()
    for entry in os.listdir(rules_dir):
        if entry.endswith(".py"):
            with open(os.path.join(rules_dir, entry), encoding="utf-8") as handle:
                text = handle.read()
            codes.update(re.findall(r'^    code = "(FI\d{3})"', text, re.MULTILINE))
            names.update(re.findall(r'^    name = "([a-z0-9-]+)"', text, re.MULTILINE))
    return codes | {"FI900"}, names | {"unused-suppression"}  # FI900's code and name live in the engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--code", required=True, help="FI followed by three digits, unused")
    parser.add_argument("--name", required=True, help="kebab-case, unused")
    parser.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    args = parser.parse_args(argv)
    if not re.fullmatch(r"FI\d{3}", args.code):
        parser.error(f"--code {args.code!r}: expected FI and three digits")
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", args.name):
        parser.error(f"--name {args.name!r}: expected kebab-case")
    rules_dir = os.path.join(args.root, "fastinit_rules")
    codes, names = _taken(rules_dir)
    path = os.path.join(rules_dir, args.name.replace("-", "_") + ".py")
    if args.code in codes or args.name in names or os.path.exists(path):
        parser.error(f"{args.code} / {args.name} is taken")
    cls = "".join(part.capitalize() for part in args.name.split("-"))
    with open(path, "x", encoding="utf-8") as handle:
        handle.write(TEMPLATE.format(code=args.code, name=args.name, cls=cls))
    # the rule pages are generated from the docstrings, by the copy of the linter under --root
    env = {**os.environ, "PYTHONPATH": os.path.abspath(args.root)}
    subprocess.run(
        [sys.executable, "-m", "fastinit_lint.output.docs", os.path.join("docs", "rules")],
        cwd=args.root,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(
        f"wrote {path} and docs/rules/{args.code}.md; edit the rule, then run "
        f"`python -m pytest tests/test_rule_examples.py -k {args.code}` and `python -m fastinit_lint.output.docs`"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
