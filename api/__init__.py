"""The OpenAI-compatible HTTP front door (FastAPI).

`app` assembles the application; `chat` serves `/v1/chat/completions` (one
job per request, answered whole or as SSE chunks); `models` lists the model
aliases; `auth` checks bearer keys; `errors` renders every failure as an
OpenAI-style error body.
"""
