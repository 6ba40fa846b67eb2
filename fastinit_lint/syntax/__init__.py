"""Syntax helpers shared by every layer: lazy LibCST, node children."""
