"""Small documents and passages shared by the RAG tests."""

import json

from medlab.rag.passages import Passage

DOCS = {
    "d1": "Aspirin reduces fever and inflammation. It inhibits cyclooxygenase enzymes.",
    "d2": "Insulin regulates blood glucose. Type 1 diabetes requires insulin injections.",
    "d3": "Vaccines train the immune system to recognise pathogens such as viruses.",
}


def write_jsonl(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")


def sample_passages():
    """One passage per document of DOCS."""
    return [Passage(f"{d}::0", d, 0, len(t), t) for d, t in DOCS.items()]
