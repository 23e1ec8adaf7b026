"""The OpenAI-compatible HTTP front door (FastAPI).

`app` assembles the application; `chat` serves `/v1/chat/completions` (one
job per request, answered whole or as SSE chunks); `models` lists the model
aliases; `auth` checks bearer keys; `errors` renders every failure as an
OpenAI-style error body. `jobs`, `batches` and `openai_batches` are the async
job and batch routes: they only translate HTTP, the work is in `jobs` and
`batches` (the packages). `deps` holds what routes share (no route module
imports another); `sse` is the one SSE framer; `job_flow` ties a request to
`jobs.flow`.
"""
