"""The FastAPI app: REST routes, websocket hub, pages and the `bedfinder` command."""
