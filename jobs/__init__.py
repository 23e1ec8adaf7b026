"""The job contract and the job client, shared by both front doors and the worker.

`contract` defines a completion job, its events and its result; `keys` names
every Redis key; `codec` is the JSON (never pickle) wire format for arq;
`event_stream` appends and reads a job's events on a Redis Stream; `client`
submits jobs and waits on or streams their events; `workers` says which workers
are alive on a queue (fail-fast, `/ready`, metrics); `errors` is the one catalogue
of error codes (type, status, message, retry policy) every part answers with.
"""
