"""tools_server/parsers package."""
