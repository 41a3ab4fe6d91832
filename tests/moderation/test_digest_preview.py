"""The staff site's digest preview: the logged-in person's last 24 hours, as it would be sent."""

from __future__ import annotations

from babel.dates import get_month_names
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.db import utcnow
from tests.moderation.conftest import login
from tests.support_digest import ANA, ED, STAFF_PASSWORD, TIP_MARKERS, arrange_day
from tests.support_tips import EDITOR_PASSWORD, make_editor_with_tip_key


def test_an_editor_sees_their_digest_with_both_parts(client: FlaskClient, session: Session) -> None:
    arrange_day(session)
    login(client, ED, EDITOR_PASSWORD)
    response = client.get("/account/digest")
    assert response.status_code == 200
    html = response.text
    assert "Tipline digest: 3 new tips, 3 comments waiting" in html
    # The HTML part, inline, with its links into the queues.
    assert 'class="digest-html"' in html
    assert 'href="http://127.0.0.1:5001/queue?status=pending"' in html
    assert "Apagones en La Habana" in html and "elecciones" in html
    # The text part, in a <pre>.
    text = html.split('<pre class="digest-text">', 1)[1].split("</pre>", 1)[0]
    assert "New tips in this period: 3" in text and "Spam caught by the checks: 3" in text
    for marker in TIP_MARKERS:
        assert marker not in html
    # The e-mail's inline styles need style attributes; style elements and scripts stay blocked.
    policy = response.headers["Content-Security-Policy"]
    assert "style-src-attr 'unsafe-inline'" in policy and "script-src 'self'" in policy
    assert "style-src 'self';" in policy
    # The header links to it.
    assert 'href="/account/digest"' in client.get("/queue").text


def test_a_moderator_sees_no_tips(client: FlaskClient, session: Session) -> None:
    arrange_day(session)
    login(client, ANA, STAFF_PASSWORD)
    html = client.get("/account/digest").text
    assert "Comment backlog" in html and "Moderator activity" in html
    assert "New tips in this period" not in html and "/tips?" not in html
    assert "elecciones" not in html


def test_an_empty_day_says_so_in_spanish(client: FlaskClient, session: Session) -> None:
    make_editor_with_tip_key(session, ED, EDITOR_PASSWORD)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    login(client, ED, EDITOR_PASSWORD)
    response = client.get("/account/digest")
    assert response.status_code == 200
    assert '<html lang="es">' in response.text
    part = response.text.split('class="digest-html"', 1)[1].split("<pre", 1)[0]
    # Nothing happened: no section, and the period's dates in Spanish.
    assert "Pistas" not in part and "Pendiente" not in part
    month = get_month_names("abbreviated", locale="es")[utcnow().month]
    assert month in part and utcnow().strftime("%b") not in part


def test_logged_out_visitors_are_sent_to_the_login(client: FlaskClient) -> None:
    response = client.get("/account/digest")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
