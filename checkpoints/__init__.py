"""The checkpoint saver factory: Postgres (pooled) or SQLite (embedded default)."""
