"""Demo data for `tipline standalone`: one article to comment on and an admin to moderate."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import tipkeys
from core.enums import ModerationMode, Role
from core.models import Article, StaffUser
from core.staff import create_staff_user, set_password
from tipline.database import find_staff_user

DEMO_ADMIN_EMAIL = "admin@tipline.localhost"
DEMO_ARTICLE_SLUG = "apagones-la-habana-verano"
DEMO_ARTICLE_TITLE = "Los apagones vuelven a La Habana: hasta doce horas sin corriente al día"
# Paragraphs are separated by a blank line. A made-up story, written the way our first newsroom
# writes, so that what a newcomer sees looks like the real thing.
DEMO_ARTICLE_BODY = "\n\n".join(
    [
        "Los cortes programados de electricidad regresaron esta semana a varios municipios de "
        "La Habana, con interrupciones de hasta doce horas diarias en Centro Habana, Diez de "
        "Octubre y San Miguel del Padrón, según contaron vecinos a esta redacción.",
        "La Unión Eléctrica atribuyó el déficit de generación a la salida de servicio de dos "
        "unidades termoeléctricas por averías y a la falta de combustible para los grupos "
        "electrógenos. No ofreció una fecha para la recuperación del sistema.",
        "«Se va la luz a las diez de la mañana y vuelve de madrugada. Lo poco que teníamos en "
        "el refrigerador ya se echó a perder», dijo una residente de la calle Infanta que pidió "
        "no ser identificada. En el barrio, los vecinos se turnan para cocinar con carbón.",
        "Los cortes afectan también el bombeo de agua: en edificios altos de El Vedado los "
        "tanques se vacían antes de que regrese la corriente. Comerciantes privados dicen que "
        "han tenido que cerrar en las horas de mayor calor.",
        "¿Vive usted en una de las zonas afectadas? Cuéntenos cuántas horas pasa sin "
        "electricidad y cómo lo está resolviendo su familia.",
    ]
)

# Read aloud or typed from a terminal without confusion: no 0/O, 1/l/I.
_UNAMBIGUOUS = "abcdefghijkmnpqrstuvwxyz23456789"


def seed_demo_article(session: Session) -> Article:
    """The demo article, created if it does not exist yet (an edited one is left alone)."""
    article = session.scalar(select(Article).where(Article.slug == DEMO_ARTICLE_SLUG))
    if article is None:
        article = Article(
            slug=DEMO_ARTICLE_SLUG,
            title=DEMO_ARTICLE_TITLE,
            body=DEMO_ARTICLE_BODY,
            mode=ModerationMode.post,
        )
        session.add(article)
        session.commit()
    return article


def one_time_password() -> str:
    """A random password of four groups of four letters and digits (about 80 bits)."""
    groups = ("".join(secrets.choice(_UNAMBIGUOUS) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


def reset_demo_admin(
    session: Session, email: str = DEMO_ADMIN_EMAIL, tip_private_key: bytes = b""
) -> tuple[StaffUser, str]:
    """Create the demo admin, or give it a fresh password; returns it and the new password.

    With `tip_private_key` (the instance's, from `tipline init`), the admin holds the tip key:
    a new password loses the old personal key, so the demo's tip key is granted again.
    """
    password = one_time_password()
    user = find_staff_user(session, email)
    if user is None:
        user = create_staff_user(session, email, password, Role.admin)
    else:
        user.role = Role.admin
        user.is_active = True
        set_password(user, password)
    session.commit()
    if tip_private_key:
        tipkeys.adopt(session, user, password, tip_private_key)
    return user, password
