"""medlab: the library behind a reproducible pipeline of four deep-learning experiments
on biomedical data (GNN for blood-brain-barrier permeability, BERT attention analysis,
retrieval-augmented QA, imbalanced multi-label classification).

The Snakemake workflow in the repository root calls into this package through thin
adapters in ``workflow_scripts/``; everything here is importable and testable on its own.
"""

__version__ = "0.1.0"
