"""Logging for API and worker processes: one format, secrets replaced before any handler sees them."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable

from litellm_claude.telemetry.log_context import AddLogContext

REDACTED = "[REDACTED]"
_FORMATTER = logging.Formatter()


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info:
            # a traceback's frames and exception text can carry a secret too: format it once, here
            record.exc_text = record.exc_text or _FORMATTER.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class DropPriorityLead(logging.Filter):
    """arq's "job started" line says `delayed=86400.00s` for every interactive job.

    Interactive jobs are scored a day before their arrival so they run ahead of bulk work
    (`jobs.queue.queue_position`); nothing is really deferred. The line's first figure
    (seconds since enqueue) is the true wait, so the misleading suffix is dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "arq.worker" and isinstance(record.args, tuple) and record.args:
            *head, extra = record.args
            if isinstance(extra, str) and " delayed=" in extra:
                record.args = (*head, re.sub(r" delayed=\S+", "", extra))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "job_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry)


def setup_logging(secrets: Iterable[str], *, level: str = "INFO", json_format: bool = True) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(AddLogContext())
    handler.addFilter(DropPriorityLead())
    handler.addFilter(RedactSecrets(secrets))
    handler.setFormatter(
        JsonFormatter()
        if json_format
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
