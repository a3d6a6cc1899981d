"""Stage 6, cluster: the rendered tree judged and applied by a real API server (`objects` decides
the order and places refusals, `client` talks to the server, `command` runs it)."""
