"""The review page (Flask, served by waitress): login and roles, the queue, posts and evidence, decisions, the audit log."""

from .app import create_app, serve_app

__all__ = ["create_app", "serve_app"]
