"""WSGI entry point: ``gunicorn wsgi:app`` (one line of substance)."""

from command import create_app

app = create_app()
