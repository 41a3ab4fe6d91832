"""The staff site for a WSGI server: `gunicorn moderation.wsgi:app`."""

from moderation import create_app

app = create_app()
