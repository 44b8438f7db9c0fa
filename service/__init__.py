"""The HTTP service: Alertmanager webhooks into a durable Postgres inbox, storm folding, incidents and approvals."""
