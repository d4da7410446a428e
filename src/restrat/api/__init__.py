"""FastAPI application assembly: sessions per request, authentication, roles, error mapping."""
