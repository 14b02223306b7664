"""The promotion engine: watcher, evaluation, durable queue, promoter, provenance."""
