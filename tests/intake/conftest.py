"""Fixtures of the public site's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from core.config import Settings
from tests.support import new_queue_name


@pytest.fixture
def quiet_settings(settings: Settings) -> Iterator[Settings]:
    """Settings whose task queue no worker consumes: anything enqueued stays there to inspect."""
    quiet = settings.with_overrides(task_queue=new_queue_name())
    yield quiet
    redis.Redis.from_url(settings.broker_url).delete(quiet.task_queue)


@pytest.fixture
def quiet_app(quiet_settings: Settings) -> Flask:
    """The public site, enqueueing into the quiet queue."""
    from intake import create_app

    return create_app(quiet_settings)


@pytest.fixture
def quiet_client(quiet_app: Flask) -> FlaskClient:
    """A browser-like client of the quiet public site."""
    return quiet_app.test_client()
