"""Database engine, declarative base, bulk writes, query limits and migrations."""
