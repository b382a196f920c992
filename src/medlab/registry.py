"""The named, interchangeable parts of the experiments: one place that lists their names.

A config picks an architecture, a pooling, a loss, a split kind or the policy choosing
attention heads to disable by name. Each
:class:`Registry` below declares the names (in the order the schema lists them); the
module that implements them registers one implementation per name with
``@REGISTRY.register(name)``. This module imports nothing heavy, so the workflow can read
the names while Snakemake parses the Snakefile (wildcard constraints, config checks);
:meth:`Registry.get` imports the implementing module on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable


class Registry:
    """Names of one kind of part, mapped to their implementations.

    ``kind`` names the part in error messages ("architecture"); ``implemented_in`` is the
    module whose import registers the implementations.
    """

    def __init__(self, kind: str, names: Iterable[str], implemented_in: str) -> None:
        self.kind = kind
        self._names = tuple(names)
        self._implemented_in = implemented_in
        self._implementations: dict[str, object] = {}

    def names(self) -> tuple[str, ...]:
        """The declared names, in declaration order."""
        return self._names

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._names)})"

    def check(self, name: str) -> None:
        """Raise ValueError naming the valid choices when ``name`` is not declared."""
        if name not in self._names:
            raise ValueError(f"unknown {self.kind} {name!r}; expected one of {list(self._names)}")

    def register(self, name: str) -> Callable:
        """Decorator: register the decorated object as the implementation of ``name``.

        Raises ValueError for an undeclared name or a second implementation.
        """
        self.check(name)
        if name in self._implementations:
            raise ValueError(f"{self.kind} {name!r} is registered twice")

        def decorate(implementation):
            self._implementations[name] = implementation
            return implementation

        return decorate

    def get(self, name: str):
        """The implementation of ``name``; ValueError for an unknown name (with the choices)."""
        self.check(name)
        if name not in self._implementations:
            # importing the implementing module runs its @register decorators
            importlib.import_module(self._implemented_in)
        if name not in self._implementations:
            raise LookupError(
                f"{self.kind} {name!r} is declared but {self._implemented_in} registers no "
                "implementation for it"
            )
        return self._implementations[name]


ARCHITECTURES = Registry(
    "architecture", ("gat", "gcn", "gin", "sage"), implemented_in="medlab.gnn.models"
)
POOLINGS = Registry(
    "pooling", ("mean", "sum", "max", "attention"), implemented_in="medlab.gnn.models"
)
LOSSES = Registry(
    "loss", ("bce", "weighted_bce", "focal", "asymmetric"), implemented_in="medlab.losses"
)
SPLIT_KINDS = Registry(
    "split kind",
    ("random", "scaffold", "scaffold_deterministic"),
    implemented_in="medlab.gnn.splits",
)
HEAD_SELECTIONS = Registry(
    "head selection policy",
    ("random", "least_important", "most_important"),
    implemented_in="medlab.attention.selection",
)
