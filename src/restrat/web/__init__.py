"""Shared layout, templates and static files of the web dashboard."""
