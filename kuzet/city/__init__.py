"""The city setup on one machine: local PostgreSQL, NATS JetStream and S3 servers started and stopped by the
project's own code (no hand-made config), the backend processes and workers against them (``kuzet demo --city``
runs the demo on it, ``kuzet.demo.city``), fault injection and the load test (``kuzet loadtest``)."""
