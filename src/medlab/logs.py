"""Logging set-up for pipeline entry points (one call per process)."""

from __future__ import annotations

import logging
import sys


def configure_logging(log_path: str | None = None, level: int = logging.INFO) -> None:
    """Send log records (and uncaught exceptions) to ``log_path``, or stderr when None.

    Snakemake jobs pass ``snakemake.log[0]`` so each rule has its own log file whose path
    Snakemake prints when the job fails.
    """
    handler: logging.Handler
    handler = logging.FileHandler(log_path, mode="w") if log_path else logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)

    def log_uncaught(exc_type, exc, tb):
        logging.getLogger("medlab").critical("job failed", exc_info=(exc_type, exc, tb))
        sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = log_uncaught
