"""What the user sees: reporters, rule docs, `--add-noqa`, progress."""
