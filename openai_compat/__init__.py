"""The OpenAI wire format: request bodies in, `chat.completion` objects, chunks and errors out.

Both front doors (the FastAPI app and the LiteLLM provider) turn an OpenAI
request into a `jobs.contract.CompletionJob` here, and turn job events back
into OpenAI objects here. The async resources' shapes live here too: a job's
body (`job_body`) and view (`job_view`), Batch API files (`batch_files`).
"""
