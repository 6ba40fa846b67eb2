"""Running rules: the pipeline, checker, rule API, registry, suppressions, fixes, cache, limits."""
