"""The public site for a WSGI server: `gunicorn intake.wsgi:app`."""

from intake import create_app

app = create_app()
