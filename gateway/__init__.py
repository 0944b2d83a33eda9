"""The HTTP/JSON front door: verifies tokens, forwards identity to the services, maps errors."""
