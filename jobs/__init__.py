"""A job's whole life, shared by both front doors (api/, provider/), the batch code and the worker.

`contract` defines a completion job, its events and its result; `keys` names
every Redis key; `codec` is the JSON (never pickle) wire format for arq.
Life of a job: `queue` is the one enqueue path (alone or inside a caller's
transaction; it always wakes a worker); `client` refuses early and submits;
`event_stream` appends and reads a job's events; `follow` is the one follower
(answers, the job events stream, waiting for the end); `flow` is the path every
front door takes (submit, wait or follow, cancel when the caller leaves);
`cancel` stops a job; `status` derives a job's state from its events;
`records` stores async jobs. `arq_adapter` is the only module that touches
arq's internals. `workers` says which workers are alive on a queue.
"""
