"""Registry of enterprises, enterprise groups (ownership over time) and facilities."""
