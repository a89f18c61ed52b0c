"""Transport security (TLS, mTLS) and the admin RPC check."""
