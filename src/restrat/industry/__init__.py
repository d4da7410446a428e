"""Industry analytics: concentration, merger screening, access conditions, clusters."""
