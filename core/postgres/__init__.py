"""PostgreSQL as Django's own backend, with a health check that needs no round trip."""
