"""Policy YAML: read with source positions, validate into frozen objects, hot-reload."""
