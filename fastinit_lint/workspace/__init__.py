"""The user's files and settings: discovery, ignore patterns, configuration, reading and writing."""
