"""Logging set-up for pipeline entry points (one call per process)."""

from __future__ import annotations

import logging
import os
import socket
import sys

ATTEMPTS_SUFFIX = ".attempts"


def configure_logging(
    log_path: str | None = None, level: int = logging.INFO, keep_attempts: bool = False
) -> None:
    """Send log records (and uncaught exceptions) to ``log_path``, or stderr when None.

    Snakemake jobs pass ``snakemake.log[0]`` so each rule has its own log file whose path
    Snakemake prints when the job fails. Snakemake empties that file before each attempt,
    so jobs that are retried pass ``keep_attempts``: every record is also appended to
    ``<log_path>.attempts``, which Snakemake leaves alone, under one header line per attempt
    (the failed attempt's error stays readable after the retry succeeded).
    """
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [
        logging.FileHandler(log_path, mode="w") if log_path else logging.StreamHandler()
    ]
    if log_path and keep_attempts:
        handlers.append(logging.FileHandler(f"{log_path}{ATTEMPTS_SUFFIX}", mode="a"))
    for handler in handlers:
        handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
    if log_path and keep_attempts:
        logging.getLogger("medlab").info(
            "---- job started on %s (pid %d) ----", socket.gethostname(), os.getpid()
        )
    logging.captureWarnings(True)

    def log_uncaught(exc_type, exc, tb):
        logging.getLogger("medlab").critical("job failed", exc_info=(exc_type, exc, tb))
        sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = log_uncaught
