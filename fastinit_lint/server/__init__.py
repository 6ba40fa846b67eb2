"""`fastinit-lint server`: diagnostics, quick fixes and rule docs in any LSP editor (needs `fastinit-lint[server]`).

This module is imported by every CLI run: pygls and the server itself load only when the command runs.
"""

from __future__ import annotations

import os
import sys

import click

INSTALL_HINT = 'error: `fastinit-lint server` needs pygls: pip install "fastinit-lint[server]"'


@click.command("server")
@click.option("--debounce", type=click.FloatRange(min=0), default=0.25, show_default=True,
              help="Seconds of quiet after an edit before re-checking.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=0, help="Worker processes for indexing (0 = one per CPU).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
def command(debounce: float, jobs: int, no_cache: bool) -> None:
    """Run the language server (LSP over stdio) for editors; needs `fastinit-lint[server]`."""
    from ..cli import EXIT_ERROR

    try:
        import pygls.server  # noqa: F401
    except ImportError:
        click.echo(INSTALL_HINT, err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(serve(debounce, jobs, not no_cache))


def serve(debounce: float, jobs: int, use_cache: bool) -> int:
    """Serve over stdio until `exit`: 0 after a `shutdown` request, 1 without one (the LSP's rule)."""
    from .app import build

    # Only the protocol may reach the client's pipe: anything else printing to stdout (our code, a forked
    # worker, a native library) goes to stderr, which editors show as the server's log.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    server = build(debounce, jobs, use_cache)
    server.start_io(sys.stdin.buffer, protocol)
    return 0 if server.lsp._shutdown else 1
