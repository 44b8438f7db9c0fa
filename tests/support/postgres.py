"""A throw-away Postgres database per test or benchmark run: created empty, dropped with its connections."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg


@asynccontextmanager
async def fresh_database(admin: psycopg.AsyncConnection[Any], admin_url: str, prefix: str) -> AsyncIterator[str]:
    """The URL of a new database on `admin`'s server (`admin` connected to `admin_url` in autocommit); the
    database is dropped (connections forced out) and `admin` closed at the end."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield admin_url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
