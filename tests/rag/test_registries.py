"""The RAG registries name exactly what the config schema allows."""

import pytest
import yaml

from medlab.rag.corpus import CORPUS_FORMATS
from medlab.rag.readers import READERS
from medlab.rag.retrieval import BASE_RETRIEVERS, BM25_LIBRARIES, DENSE_INDEX_KINDS, RETRIEVERS


@pytest.fixture(scope="module")
def rag_schema(root):
    schema = yaml.safe_load((root / "schemas" / "config.schema.yaml").read_text())
    return schema["properties"]["rag"]["properties"]


def test_registry_names_equal_the_schema_enums(rag_schema):
    assert set(RETRIEVERS) == set(rag_schema["retrievers"]["items"]["enum"])
    assert set(RETRIEVERS) == set(rag_schema["read_methods"]["items"]["enum"])
    assert set(RETRIEVERS) == set(rag_schema["focus_method"]["enum"])
    assert set(READERS) == set(rag_schema["readers"]["items"]["enum"])
    assert set(BM25_LIBRARIES) == set(rag_schema["bm25_library"]["enum"])
    assert set(DENSE_INDEX_KINDS) == set(rag_schema["dense_index"]["enum"])
    assert set(CORPUS_FORMATS) == set(rag_schema["corpus"]["properties"]["format"]["enum"])
    assert set(rag_schema["hybrid"]["properties"]["dense"]["enum"]) <= set(BASE_RETRIEVERS)
