"""Articles registered on first sight: the embed (or the CMS) names an article we do not know yet.

Who may register is decided by the caller (intake.api: an allowed site, or a CMS token); this
module only stores.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import thread_cache
from core.enums import ModerationMode
from core.models import Article
from intake.submissions import find_article


def register_article(
    session: Session, key: str, *, title: str, url: str, may_update: bool
) -> tuple[Article, bool]:
    """The article at `key`, stored (open for comments) if new; and whether it was new.

    With `may_update` (a CMS token) an existing article takes the given title and URL; a
    browser's page cannot rename an article. Committed.
    """
    article = find_article(session, key)
    if article is None:
        article = Article(slug=key, title=title, url=url, mode=ModerationMode.post)
        session.add(article)
        try:
            session.commit()
            return article, True
        except IntegrityError:  # two first sights at once: the other one stored it
            session.rollback()
            article = find_article(session, key)
            if article is None:
                raise
    if may_update and (article.title, article.url) != (title, url):
        article.title, article.url = title, url
        # Its embedded thread shows the article's title and address.
        thread_cache.touch(session, article.id)
    session.commit()
    return article, False
