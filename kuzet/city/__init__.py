"""``kuzet demo --city`` and the load test: local PostgreSQL, NATS JetStream and S3 servers, started and stopped by
the project's own code (no hand-made config), and the backend processes and workers running against them."""
