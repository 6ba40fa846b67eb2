"""The model of the user's code: per-file facts, bindings, the project index, size estimates."""
