"""NATS JetStream: the vehicle-event stream, its aggregator and the outbox fan-out (off by default)."""
