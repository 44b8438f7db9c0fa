"""The metrics store: one protocol (protocol.py), SQL backends (MySQL, SQLite) and a Prometheus backend."""
