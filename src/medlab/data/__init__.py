"""Data acquisition: downloads with a local mirror, checksums and provenance records."""
