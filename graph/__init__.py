"""The LangGraph graphs of OpsWatchdog; tools are reached only through the MCP client (graph/mcp_client.py)."""
