"""The self-contained HTML report: run header plus one section per enabled experiment."""
