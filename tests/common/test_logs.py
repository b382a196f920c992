"""Logging set-up of pipeline entry points: one log file per job, warnings and crashes in it."""

import logging
import sys
import warnings

import pytest

from medlab.logs import configure_logging


@pytest.fixture
def restore_logging():
    """configure_logging changes process-wide state: give it back to pytest afterwards."""
    root = logging.getLogger()
    handlers, level, excepthook = root.handlers[:], root.level, sys.excepthook
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.excepthook = excepthook
    logging.captureWarnings(False)


def test_records_and_warnings_go_to_the_given_file(tmp_path, restore_logging):
    log_file = tmp_path / "job.log"
    configure_logging(str(log_file))
    logging.getLogger("medlab.example").info("featurized %d molecules", 12)
    logging.getLogger("medlab.example").debug("not at INFO level")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a deprecated option", UserWarning, stacklevel=1)
    text = log_file.read_text()
    assert "INFO medlab.example: featurized 12 molecules" in text
    assert "a deprecated option" in text and "not at INFO level" not in text


def test_uncaught_exception_is_logged_as_a_failed_job(tmp_path, restore_logging, capsys):
    log_file = tmp_path / "job.log"
    configure_logging(str(log_file))
    try:
        raise KeyError("missing column")
    except KeyError:
        sys.excepthook(*sys.exc_info())
    text = log_file.read_text()
    assert "CRITICAL medlab: job failed" in text and "KeyError: 'missing column'" in text
    assert "KeyError" in capsys.readouterr().err  # still printed as usual


def test_a_second_call_replaces_the_handler(tmp_path, restore_logging):
    configure_logging(str(tmp_path / "first.log"))
    configure_logging(str(tmp_path / "second.log"), level=logging.WARNING)
    logging.getLogger("medlab").warning("only here")
    assert "only here" not in (tmp_path / "first.log").read_text()
    assert "only here" in (tmp_path / "second.log").read_text()
    assert len(logging.getLogger().handlers) == 1


def test_retried_job_keeps_every_attempt(tmp_path, restore_logging):
    """Snakemake empties the log before a retry; <log>.attempts keeps the failed attempt."""
    log_file = tmp_path / "train.log"
    configure_logging(str(log_file), keep_attempts=True)
    logging.getLogger("medlab.example").error("attempt one ran out of memory")
    log_file.write_text("")  # what Snakemake does before the next attempt
    configure_logging(str(log_file), keep_attempts=True)
    logging.getLogger("medlab.example").info("attempt two finished")
    assert "out of memory" not in log_file.read_text()
    attempts = (tmp_path / "train.log.attempts").read_text()
    assert attempts.count("---- job started") == 2
    assert attempts.index("out of memory") < attempts.index("attempt two finished")


def test_attempt_history_is_opt_in(tmp_path, restore_logging):
    configure_logging(str(tmp_path / "job.log"))
    logging.getLogger("medlab.example").info("one attempt")
    assert not (tmp_path / "job.log.attempts").exists()
