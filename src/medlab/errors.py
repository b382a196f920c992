"""Errors shared by the configuration checks and the jobs that repeat them at run time.

A leaf module: the attention and RAG modules raise ConfigError without importing
medlab.config, so a change to the GNN's training spec (which the config checks import)
never counts as a change to their code.
"""


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""
