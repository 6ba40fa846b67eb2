#!/usr/bin/env bash
# Autofix step for CI: apply fastinit-lint's safe fixes, annotate what remains, show the diff, and fail
# when anything changed so that the fix is committed (push it back, or let the author apply it).
# Usage: autofix.sh [PATHS...]   (default: .)
set -u
fastinit-lint --fix --exit-non-zero-on-fix --output-format github "${@:-.}"
status=$?
if ! git diff --quiet; then
  echo "fastinit-lint changed these files; commit the result (or run 'fastinit-lint --fix' locally):"
  git --no-pager diff
fi
exit $status
