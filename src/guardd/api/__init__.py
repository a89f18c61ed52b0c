"""The gRPC API: handlers, conversions, and the server."""
