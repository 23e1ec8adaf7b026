"""Batch work and its files, below the routes: storage of `/v1/jobs/batch` batches, OpenAI Batch
API batches and files, and output-file generation.

`items` turns a batch's request bodies into job records (and says why a request
was rejected) and reads their states; `job_batch` stores and shows a
`/v1/jobs/batch` batch; `files` stores uploaded and generated files; `openai_batch`
stores an OpenAI batch and shows it as a `batch` object; `output` writes its
output and error files once every request has ended. Jobs are submitted, followed
and cancelled through `jobs` only.
"""
