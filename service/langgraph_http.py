"""Entry point of `langgraph.json`'s `http.app`: the webhook service mounted in the LangGraph server.

The server loads this file by path (not as `service.langgraph_http`), so it only imports the real module:
`service.app` imported normally keeps its dataclasses and relative names working.
"""

from service.app import app

__all__ = ["app"]
