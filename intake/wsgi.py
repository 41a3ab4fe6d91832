"""The public site for a WSGI server: `gunicorn intake.wsgi:app`."""

from core.app import ready_to_serve
from intake import create_app

app = ready_to_serve(create_app())
