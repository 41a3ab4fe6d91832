"""The staff site for a WSGI server: `gunicorn moderation.wsgi:app`."""

from core.app import ready_to_serve
from moderation import create_app

app = ready_to_serve(create_app())
