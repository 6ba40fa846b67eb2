"""`fastinit-lint server`: diagnostics, quick fixes and rule docs in any LSP editor (needs `fastinit-lint[server]`).

The CLI imports this module on every run: pygls and the server itself load only when the command runs.
"""

from __future__ import annotations

import os
import sys

INSTALL_HINT = 'error: `fastinit-lint server` needs pygls: pip install "fastinit-lint[server]"'


def available() -> bool:
    """Whether the optional dependency the server runs on is installed."""
    try:
        import pygls.server  # noqa: F401
    except ImportError:
        return False
    return True


def serve(debounce: float, jobs: int, use_cache: bool) -> int:
    """Serve over stdio until `exit`: 0 after a `shutdown` request, 1 without one (the LSP's rule)."""
    from .app import build

    # Only the protocol may reach the client's pipe: anything else printing to stdout (our code, a forked
    # worker, a native library) goes to stderr, which editors show as the server's log.
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    server = build(debounce, jobs, use_cache)
    # pygls reads and writes bytes (its defaults are sys.stdin.buffer and sys.stdout.buffer) but annotates TextIO.
    server.start_io(sys.stdin.buffer, protocol)  # type: ignore[arg-type]
    return 0 if server.lsp._shutdown else 1
