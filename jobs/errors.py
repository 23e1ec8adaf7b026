"""The one error catalogue: every error code this service answers with, defined once.

Each `ErrorCode` says what a client sees (OpenAI `type`, HTTP status, message
template) and what may follow (a default Retry-After, whether the same request
may succeed later, whether the worker falls back to the next model in the chain).
`ErrorCode.error(...)` builds the `JobError` that travels on Redis; the front
doors render it (`openai_compat.errors.ApiError`, `provider.errors`), the
worker publishes it. Nothing else builds an error for these codes.

A code may have variants (`ErrorCode.variant`): the same code, type and status
with a message of its own for a different situation (an inactivity timeout, a
write not confirmed by the replicas).

    request:  missing_api_key, invalid_api_key, request_too_large, client_disconnected,
              model_not_found, job_not_found, job_expired, duplicate_job, internal_error,
              invalid_json, not_found, method_not_allowed
    async:    idempotency_key_reused, job_already_finished, batch_not_found, batch_too_large,
              batch_already_finished, file_not_found, file_too_large
    queue:    queue_full, queue_timeout, queue_unavailable, no_worker, redis_unavailable
    job:      timeout, stream_interrupted, job_lost, job_cancelled, worker_error
    upstream: rate_limit_exceeded, overloaded, usage_limit_reached, upstream_authentication_failed,
              insufficient_quota, upstream_rejected_request, max_turns, upstream_error, cli_failed,
              invalid_structured_output, model_called_unavailable_tool

Per-parameter validation errors (`invalid_value`, `unsupported_parameter`, ...) are
400 `invalid_request_error`s whose message names the parameter; they are built by
`openai_compat.errors.invalid_request` and not listed here one by one. So is
`unsupported_endpoint` (`openai_compat.errors.unsupported_endpoint`): 404 over HTTP,
400 through LiteLLM, whose provider can only raise a bad request.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from litellm_claude.jobs.contract import JobError


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: str
    type: str
    status: int
    message: str  # a `str.format` template; `error(**fields)` fills it
    retry_after: float | None = None  # seconds for Retry-After; None: no Retry-After
    retryable: bool = False  # the same request may succeed when sent again
    fallback: bool = False  # the worker tries the next model of the chain instead of failing

    def error(
        self,
        detail: str = "",
        *,
        param: str | None = None,
        retry_after: float | None = None,
        **fields: Any,
    ) -> JobError:
        """This code's error: `fields` fill the message, `detail` follows it in parentheses."""
        message = self.message.format(**fields)
        if detail:
            message = f"{message} ({detail})"
        return JobError(
            type=self.type,
            code=self.code,
            message=message,
            status=self.status,
            param=param,
            retry_after=self.retry_after if retry_after is None else retry_after,
        )

    def variant(self, message: str) -> ErrorCode:
        """The same code, type, status and policy with a message of its own."""
        return dataclasses.replace(self, message=message)


def _code(code: str, type: str, status: int, message: str, **policy: Any) -> ErrorCode:
    entry = ErrorCode(code, type, status, message, **policy)
    known = CATALOGUE.setdefault(code, entry)
    if (known.type, known.status) != (type, status):  # pragma: no cover - caught at import
        raise ValueError(f"error code {code!r} defined twice with different type or status")
    return entry


CATALOGUE: dict[str, ErrorCode] = {}

_INVALID = "invalid_request_error"
_UNAVAILABLE = "service_unavailable_error"

# --- The request ---------------------------------------------------------------------------------

MISSING_API_KEY = _code(
    "missing_api_key",
    _INVALID,
    401,
    "You didn't provide an API key. Send it as `Authorization: Bearer <key>`.",
)
INVALID_API_KEY = _code("invalid_api_key", _INVALID, 401, "Incorrect API key provided.")
REQUEST_TOO_LARGE = _code(
    "request_too_large",
    _INVALID,
    413,
    "The request body is too large: at most {max_bytes} bytes are accepted.",
)
CONVERSATION_TOO_LONG = REQUEST_TOO_LARGE.variant("The conversation is too long for this service.")
CLIENT_DISCONNECTED = _code(
    "client_disconnected",
    _INVALID,
    499,
    "The client closed the connection before the answer was ready; the job was cancelled.",
)
BODY_INTERRUPTED = CLIENT_DISCONNECTED.variant("The client disconnected while sending the body.")
MODEL_NOT_FOUND = _code(
    "model_not_found",
    _INVALID,
    404,
    "The model `{model}` does not exist. GET /v1/models lists the available models.",
)
JOB_NOT_FOUND = _code(
    "job_not_found", _INVALID, 404, "No job with id {job_id!r} (job results are kept for {ttl} seconds)."
)
JOB_EXPIRED = _code(
    "job_expired",
    _INVALID,
    410,
    "Job {job_id} has expired: job results are kept for {ttl} seconds after submission.",
)
BATCH_JOB_EXPIRED = JOB_EXPIRED.variant("The request's job expired.")
DUPLICATE_JOB = _code("duplicate_job", _INVALID, 409, "Job {job_id} already exists.")
INTERNAL_ERROR = _code("internal_error", "api_error", 500, "The server had an internal error.")

INVALID_JSON = _code("invalid_json", _INVALID, 400, "The request body is not valid JSON.")
NOT_A_JSON_OBJECT = INVALID_JSON.variant("The request body must be a JSON object.")
BATCH_ITEM_NOT_AN_OBJECT = INVALID_JSON.variant("Each request must be a JSON object.")
NOT_FOUND = _code("not_found", _INVALID, 404, "Not Found")  # a route, or a dashboard asset
DASHBOARD_ASSET_NOT_FOUND = NOT_FOUND.variant("No dashboard asset {name!r}.")
METHOD_NOT_ALLOWED = _code("method_not_allowed", _INVALID, 405, "Method Not Allowed")

# --- Jobs, batches and files (the async resources) ------------------------------------------------

IDEMPOTENCY_KEY_REUSED = _code(
    "idempotency_key_reused",
    _INVALID,
    422,
    "This Idempotency-Key was already used with a different request body.",
)
JOB_ALREADY_FINISHED = _code(
    "job_already_finished",
    _INVALID,
    409,
    "Job {job_id} has already finished ({status}); there is nothing to cancel.",
)
BATCH_NOT_FOUND = _code("batch_not_found", _INVALID, 404, "No batch with id {batch_id!r}.")
JOB_BATCH_NOT_FOUND = BATCH_NOT_FOUND.variant(
    "No batch with id {batch_id!r} (batches are kept for {ttl} seconds after submission)."
)
BATCH_TOO_LARGE = _code(
    "batch_too_large",
    _INVALID,
    413,
    "A batch holds at most {limit} requests; this one has {size}.",
)
BATCH_FILE_TOO_LONG = BATCH_TOO_LARGE.variant("A batch holds at most {limit} requests.")
BATCH_ALREADY_FINISHED = _code(
    "batch_already_finished",
    _INVALID,
    409,
    "This batch has already completed; there is nothing to cancel.",
)
FILE_NOT_FOUND = _code("file_not_found", _INVALID, 404, "No file with id {file_id!r}.")
FILE_TOO_LARGE = _code("file_too_large", _INVALID, 413, "Files are limited to {limit} bytes.")

# --- The queue -----------------------------------------------------------------------------------

QUEUE_FULL = _code(
    "queue_full",
    _UNAVAILABLE,
    503,
    "The service is at capacity; retry later.",
    retry_after=30.0,
    retryable=True,
)
QUEUE_TIMEOUT = _code(
    "queue_timeout",
    _UNAVAILABLE,
    503,
    "All workers are busy and the request waited too long to start; retry later.",
    retry_after=10.0,
    retryable=True,
)
QUEUE_UNAVAILABLE = _code(
    "queue_unavailable",
    _UNAVAILABLE,
    503,
    "The job queue is unavailable: {reason}",
    retry_after=5.0,
    retryable=True,
)
NO_WORKER = _code(
    "no_worker",
    _UNAVAILABLE,
    503,
    "No worker consumes queue {queue!r}: nothing would answer this request. Start a worker "
    "(`litellm-claude worker`), or give this front door the same REDIS_URL and QUEUE_NAME as the workers.",
    retry_after=5.0,
    retryable=True,
)
REDIS_UNAVAILABLE = _code(
    "redis_unavailable",
    _UNAVAILABLE,
    503,
    "The job queue (Redis) is unavailable; retry later.",
    retry_after=5.0,
    retryable=True,
)
NOT_REPLICATED = REDIS_UNAVAILABLE.variant(
    "The work reached the Redis primary but only {acked} of {wanted} replica(s) confirmed it within "
    "{timeout_ms} ms, so it may or may not run. Retry later with the same Idempotency-Key."
)

# --- A job's end ---------------------------------------------------------------------------------

TIMEOUT = _code("timeout", "timeout_error", 504, "The job exceeded its time limit.", retryable=True)
INACTIVITY = TIMEOUT.variant("The CLI produced nothing for too long; the job was stopped.")
STREAM_INTERRUPTED = _code(
    "stream_interrupted",
    "api_error",
    502,
    "A worker failed mid-answer and the retried answer differs from what was streamed.",
    retryable=True,
)
JOB_LOST = _code(
    "job_lost",
    "api_error",
    500,
    "The job ended without a result: its worker failed repeatedly or it expired before a worker "
    "could start it. Submit it again.",
    retryable=True,
)
JOB_CANCELLED = _code("job_cancelled", "cancelled", 499, "The job was cancelled.")
WORKER_ERROR = _code(
    "worker_error", "api_error", 500, "The worker failed while running this job.", retryable=True
)

# --- Claude and the CLI (the worker's classification, worker/failures.py) -----------------------

RATE_LIMIT = _code(
    "rate_limit_exceeded",
    "rate_limit_error",
    429,
    "Claude rate limit reached.",
    retry_after=30.0,
    retryable=True,
    fallback=True,
)
OVERLOADED = _code(
    "overloaded", _UNAVAILABLE, 503, "Claude is overloaded.", retry_after=10.0, retryable=True, fallback=True
)
USAGE_LIMIT = _code(
    "usage_limit_reached",
    "rate_limit_error",
    429,
    "The Claude account's usage limit is reached; retry after it resets.",
    retry_after=3600.0,
    retryable=True,
    fallback=True,
)
USAGE_LIMIT_WINDOW = USAGE_LIMIT.variant(
    "The Claude account's {window} is reached{where}; it resets at {reset}."
)
UPSTREAM_AUTHENTICATION = _code(
    "upstream_authentication_failed",
    "authentication_error",
    401,
    "The service's Claude sign-in is missing, expired or rejected; an operator must sign in again.",
)
INSUFFICIENT_QUOTA = _code(
    "insufficient_quota", "insufficient_quota", 429, "The Claude account has no credit left."
)
UPSTREAM_REJECTED = _code("upstream_rejected_request", _INVALID, 400, "Claude rejected the request.")
MAX_TURNS = _code(
    "max_turns", "api_error", 502, "The model did not finish within the allowed turns.", retryable=True
)
UPSTREAM_ERROR = _code(
    "upstream_error", "api_error", 502, "Claude answered with an error.", retryable=True, fallback=True
)
UPSTREAM_UNREACHABLE = _code(
    # the same host serves every model of a chain: no fallback
    "upstream_unreachable",
    "api_error",
    502,
    "The Claude API could not be reached.",
    retryable=True,
)
CLI_FAILED = _code("cli_failed", "api_error", 502, "The Claude Code CLI failed.", retryable=True)
INVALID_OUTPUT = _code(
    "invalid_structured_output",
    "api_error",
    502,
    "The model did not produce output matching response_format.",
    retryable=True,
)
TOOL_USE_ONLY = _code(
    "model_called_unavailable_tool",
    "api_error",
    502,
    "The model answered only with a call to a tool this service does not offer, so there is no answer text",
    retryable=True,
)


# --- Rendering -----------------------------------------------------------------------------------


def retry_after_value(seconds: float) -> str:
    """The Retry-After header's value: whole seconds, at least 1."""
    return str(max(1, round(seconds)))


def error_object(error: JobError) -> dict[str, Any]:
    """The inner `{"message", "type", "param", "code"}` of an OpenAI-style error."""
    return {"message": error.message, "type": error.type, "param": error.param, "code": error.code}


def error_body(error: JobError) -> dict[str, Any]:
    """`{"error": {...}}`, the body of every error response."""
    return {"error": error_object(error)}


def is_cancelled(error: JobError) -> bool:
    return error.code == JOB_CANCELLED.code
