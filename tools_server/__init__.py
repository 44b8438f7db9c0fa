"""tools_server package."""
