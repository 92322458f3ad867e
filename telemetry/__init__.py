"""Infrastructure shared by the insights and operations apps: time units
(`telemetry.units`), time-series definitions, creation, app-written buckets and query
windows (`telemetry.timeseries`), and the background batcher that writes figures off the
request path and counts what it loses (`telemetry.batcher`). No models, no Redis keys of
its own: each app keeps its own series list and store."""
