"""Metrics and log context shared by every process of the service.

Workers record job metrics into Redis (`store`), so the API's `/metrics` can
render the whole pool's figures in Prometheus text format (`prometheus`)
together with live gauges read from Redis at scrape time. `labels` gives job
metrics their model, priority and caller (never a key). `log_context`
carries the request id and job id onto every log line.
"""
