"""Short comments every retrained model is also judged on, besides the held-out decisions.

Written by hand for Tipline (not taken from any dataset), in the two languages of our first
newsroom's readers, after the kinds of spam it gets (phone top-ups and remittances, crypto,
loans, links for search engines) and of real comments that share their words: a model that
learns "recargas" means spam, or that any link is spam, loses here. They also make sure the
comparison has both classes when the newsroom's held-out slice is small or one-sided.

Plain (text, is spam) pairs: worker.classifier.training, which defines Example, imports
scikit-learn, and this module is imported by the worker (see worker.learning).
"""

from __future__ import annotations

SOURCE = "canary"


def _spam(text: str) -> tuple[str, bool]:
    return (text, True)


def _ham(text: str) -> tuple[str, bool]:
    return (text, False)


CANARIES: tuple[tuple[str, bool], ...] = (
    # Spam: top-ups and remittances.
    _spam(
        "RECARGAS A CUBA al mejor precio!! Doble saldo hoy, escríbenos al WhatsApp +1 305 555 0187"
    ),
    _spam("Envío de remesas a Cuba en 24 horas, la mejor tasa del mercado. Info: remesasya.top"),
    _spam("Cheap top-ups for Cubacel phones, 50% bonus today only!!! Order at recargafacil.shop"),
    # Spam: crypto.
    _spam("Gané 3000 dólares en una semana con bitcoin sin saber nada. Pregúntame cómo, te enseño"),
    _spam("Invest $200 and earn $5,000 in 7 days with our crypto trading bot, DM me on Telegram"),
    # Spam: loans and easy money.
    _spam("Préstamos rápidos sin buró ni aval, aprobados en 10 minutos. Llama ya al 55 1234 5678"),
    _spam("Need a loan? Fast approval, no credit check, any amount. Email fastloans@example.com"),
    _spam("Trabaja desde casa y gana 500 dólares al día. Cupos limitados: bit.ly/gana500"),
    # Spam: links for search engines.
    _spam("Great article! Visit my site for cheap replica watches www.best-watches-online.xyz"),
    _spam("Muy buen post, me gustó. Visita mi página de apuestas online apuestas24.club"),
    # Ham: the newsroom's readers, including some that talk about what spammers sell.
    _ham(
        "Aquí en Centro Habana llevamos tres días con apagones de doce horas, nadie explica nada."
    ),
    _ham("Mi hermana en Miami me manda recargas cada mes porque el salario no alcanza para nada."),
    _ham("Las remesas llegan tarde desde que cerraron las oficinas, mi madre esperó dos semanas."),
    _ham("El artículo no menciona que el precio del pan subió otra vez en la bodega de mi barrio."),
    _ham("¿Alguien sabe si el bitcoin es legal en Cuba? Leí que el Banco Central lo reguló."),
    _ham("Gracias por informar, en Santiago la situación del agua es igual o peor desde agosto."),
    _ham("The blackout lasted all night in Holguín, my neighbours lost the food in their fridges."),
    _ham("Good reporting. The official inflation figures are at www.onei.gob.cu since last week."),
    _ham("My cousin applied for a small business loan and waited six months for the bank."),
    _ham(
        "No estoy de acuerdo con el autor: el problema del transporte viene de antes de la crisis."
    ),
)
