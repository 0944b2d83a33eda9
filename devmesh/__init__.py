"""The embedded mesh: every service, NATS, S3 and the gateway on one machine, with demo data."""
