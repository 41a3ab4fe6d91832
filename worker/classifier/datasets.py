"""Readers for the labelled spam collections in ../shared/data/spam and for our own JSON lines.

Each reader returns `Labelled` rows with the text exactly as stored (the feature code strips the
U+FEFF, tags and HTML entities the YouTube and SMS files carry), and raises `DatasetError` naming
the file and line of anything it cannot read.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.enums import Kind
from worker.classifier.training import Example

YOUTUBE_DIR = "youtube-spam-collection"
SMS_FILE = "sms-spam-collection/SMSSpamCollection"
SPANISH_DIR = "spam-ham-spanish-softecapps"


class DatasetError(ValueError):
    """A file that is not in the format its reader expects; the message names file and line."""


@dataclass(frozen=True)
class Labelled:
    """One labelled text: what kind of submission it stands for, whether it is spam, its origin."""

    kind: Kind
    text: str
    spam: bool
    # Where it came from, e.g. "youtube:Psy" or "sms"; cross-validation groups by it.
    source: str = ""

    def example(self, weight: float = 1.0) -> Example:
        """This row as a training example."""
        return Example(text=self.text, spam=self.spam, weight=weight, source=self.source)


def _csv_rows(path: Path, columns: Sequence[str]) -> list[tuple[int, list[str]]]:
    """(line number, values of `columns`) for each row of a CSV file with a header."""
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise DatasetError(f"{path}: empty file") from None
        missing = [name for name in columns if name not in header]
        if missing:
            raise DatasetError(f"{path}:1: header {header} lacks {missing}")
        at = [header.index(name) for name in columns]
        rows = []
        for row in reader:
            if not row:
                continue
            # reader.line_num is the line the row ends on; quoted fields may span lines.
            if len(row) != len(header):
                raise DatasetError(
                    f"{path}:{reader.line_num}: {len(row)} fields, the header has {len(header)}"
                )
            rows.append((reader.line_num, [row[i] for i in at]))
    return rows


def _label(path: Path, line: int, value: str, spam: str, ham: str) -> bool:
    if value == spam:
        return True
    if value == ham:
        return False
    raise DatasetError(f"{path}:{line}: label {value!r} is neither {spam!r} nor {ham!r}")


def read_youtube(path: Path | str) -> list[Labelled]:
    """One file of the YouTube Spam Collection (COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS; 1 = spam)."""
    path = Path(path)
    # "Youtube01-Psy.csv" -> "youtube:Psy": the video, which cross-video evaluation holds out.
    source = "youtube:" + path.stem.partition("-")[2] if "-" in path.stem else "youtube"
    return [
        Labelled(Kind.comment, text, _label(path, line, label, "1", "0"), source)
        for line, (text, label) in _csv_rows(path, ("CONTENT", "CLASS"))
    ]


def read_sms(path: Path | str) -> list[Labelled]:
    """The SMS Spam Collection: `label<TAB>text` per line, no header, no quoting."""
    path = Path(path)
    rows = []
    # Not the csv module: the file has no quoting, and reading '"' as a quote merges messages.
    with path.open(encoding="utf-8", newline="\n") as stream:
        for line_number, line in enumerate(stream, start=1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            label, tab, text = line.partition("\t")
            if not tab:
                raise DatasetError(f"{path}:{line_number}: no tab between label and text")
            spam = _label(path, line_number, label, "spam", "ham")
            rows.append(Labelled(Kind.tip, text, spam, "sms"))
    return rows


def read_spanish(path: Path | str) -> list[Labelled]:
    """softecapps/spam_ham_spanish train.csv or test.csv (mensaje,tipo; tipo is spam or ham)."""
    path = Path(path)
    return [
        Labelled(Kind.comment, text, _label(path, line, label.strip(), "spam", "ham"), "spanish")
        for line, (text, label) in _csv_rows(path, ("mensaje", "tipo"))
    ]


def read_jsonl(path: Path | str) -> list[Labelled]:
    """JSON lines: {"kind": "comment"|"tip", "text": "...", "label": "spam"|"ham"} each."""
    path = Path(path)
    rows = []
    with path.open(encoding="utf-8") as stream:
        for line_number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            where = f"{path}:{line_number}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where}: not JSON: {exc.msg}") from None
            if not isinstance(item, dict):
                raise DatasetError(f"{where}: expected an object, found {type(item).__name__}")
            kind = item.get("kind")
            if kind not in ("comment", "tip"):
                raise DatasetError(f"{where}: kind must be 'comment' or 'tip', not {kind!r}")
            text = item.get("text")
            if not isinstance(text, str):
                raise DatasetError(f"{where}: text must be a string, not {text!r}")
            label = item.get("label")
            if label not in ("spam", "ham"):
                raise DatasetError(f"{where}: label must be 'spam' or 'ham', not {label!r}")
            source = str(item.get("source", path.stem))
            rows.append(Labelled(Kind(kind), text, label == "spam", source))
    return rows


def read_any(path: Path | str) -> list[Labelled]:
    """Any of the formats above, told apart by the file's name and first line."""
    path = Path(path)
    with path.open(encoding="utf-8") as stream:
        first = stream.readline()
    header = [name.strip() for name in first.split(",")]
    if path.suffix in (".jsonl", ".ndjson") or first.lstrip().startswith("{"):
        return read_jsonl(path)
    if "CONTENT" in header and "CLASS" in header:
        return read_youtube(path)
    if header == ["mensaje", "tipo"]:
        return read_spanish(path)
    if first.partition("\t")[0] in ("spam", "ham"):
        return read_sms(path)
    raise DatasetError(
        f"{path}:1: not a format we read (YouTube CSV, SMS, Spanish CSV, JSON lines)"
    )


def read_youtube_all(data_dir: Path | str) -> list[Labelled]:
    """All five videos of the YouTube Spam Collection, in file order."""
    files = sorted((Path(data_dir) / YOUTUBE_DIR).glob("Youtube0*.csv"))
    if not files:
        raise DatasetError(f"{Path(data_dir) / YOUTUBE_DIR}: no Youtube0*.csv files")
    return [row for path in files for row in read_youtube(path)]


def base_examples(data_dir: Path | str) -> list[Example]:
    """The base model's training set: YouTube, SMS and our seed examples (docs/spam-data.md).

    The Spanish softecapps set is left out: it looks synthetic, and training on it made the model
    flag real Spanish comments without catching more real Spanish spam.
    """
    data_dir = Path(data_dir)
    rows = read_youtube_all(data_dir) + read_sms(data_dir / SMS_FILE)
    return [row.example() for row in rows] + seed_examples(SEED_WEIGHT)


# Hand-written for Tipline (not taken from any dataset) in the two languages of our first
# newsroom's readers: the comment spam it gets (top-ups, remittances, currency, crypto, loans,
# love spells, followers, shops) and real comments and tips that share its words and carry
# what sources write with - links to evidence, phone numbers, e-mail addresses. Without them
# the base data (English YouTube comments and SMS) teaches that any phone number or link is
# spam and knows no Spanish spam at all. Kept apart from worker.learning_canaries and from the
# tests' examples, which judge the model on texts it did not learn from.
SEED_SPAM: tuple[str, ...] = (
    "Oferta de recargas: paga 20 USD y recibe 1000 CUP de saldo y datos ilimitados, pide por "
    "Telegram",
    "Compro y vendo dólares y euros al mejor cambio de La Habana, entrega a domicilio, escríbeme",
    "Vendo MLC a buen precio, transferencia inmediata, contacto por WhatsApp +53 5 401 2233",
    "¿Quieres ganar dinero extra? Únete a mi equipo de inversión en criptomonedas, ganancias "
    "diarias garantizadas",
    "Invierte 100 USDT hoy y retira 1500 en una semana, las pruebas de pago están en mi perfil",
    "Préstamos personales con solo tu carnet de identidad, sin fiador, respuesta en una hora",
    "Se venden seguidores y likes para Facebook e Instagram, paquetes desde 5 dólares",
    "Casino en línea con bono de bienvenida del 200%, regístrate con mi enlace y gana hoy mismo",
    "El doctor Osaze me ayudó a recuperar a mi esposo con un amarre de amor, contáctalo por "
    "WhatsApp +234 803 555 1020",
    "Trámites de pasaporte y visa rápidos, parole garantizado, precios accesibles, llama ya",
    "Pasajes baratos Habana-Miami, reserva hoy con 50% de descuento en viajesbaratos.site",
    "Gana un iPhone 15 gratis, solo tienes que dar like y compartir este enlace con tus amigos",
    "Sígueme en mi canal de YouTube, subo videos nuevos cada día, no te arrepentirás!!",
    "Kits solares y baterías para los apagones, envío a toda Cuba, pide por WhatsApp al +1 786 "
    "555 0199",
    "Aprende a ganar 300 dólares diarios desde tu celular, curso gratis, escríbeme al privado",
    "Felicidades, usted ha sido seleccionado para recibir un premio de 5000 dólares, reclámelo "
    "aquí",
    "Tu cuenta de Transfermóvil será bloqueada, verifica tus datos en transfermovil-seguro.com",
    "Pastillas para adelgazar 10 kilos en 2 semanas, resultados garantizados, pedidos al privado",
    "Combos de comida a domicilio en toda La Habana, paga desde el exterior en combosya.shop",
    "Mira mi perfil para fotos calientes 🔥🔥 solo para mayores de edad",
    "Envíos de paquetes a Cuba, aduana incluida, 5 dólares la libra, recogida gratis en Hialeah",
    "Vendo antenas Starlink para Cuba con instalación incluida, escríbeme al privado para precios",
    "Ingresos pasivos con forex, mi mentora me enseñó a multiplicar mi dinero, pregúntame cómo",
    "Ayúdame a llegar a 1000 suscriptores en mi canal, suscríbete y te devuelvo el favor",
    "Saldo gratis para Cubacel, descarga esta aplicación y gana recargas todos los días",
    "Tarjetas de regalo de Amazon y Google Play con descuento, pago por Zelle, escríbeme",
    "¿Necesitas dinero urgente? Préstamo inmediato sin papeleo: prestamos.rapidos@gmail.com",
    "Únete a nuestro grupo de Telegram de señales de trading, 90% de aciertos cada semana",
    "Hola, visita mi página web, los mejores precios en electrodomésticos "
    "www.ofertasdelhogar.online",
    "Hechizos y limpias espirituales con resultados en 72 horas, consulta gratis por WhatsApp",
    "Make $800 a week working from home, no experience needed, message me for details",
    "Get 10,000 followers in 24 hours! Best prices at followboost.site",
    "I made $25k last month trading crypto with Mrs. Linda, contact her on WhatsApp +44 7700 "
    "900123",
    "Congratulations! You've won a $1000 Walmart gift card, claim it now at giftclaims.club",
    "Buy cheap Viagra and Cialis online without prescription, fast and discreet delivery",
    "Sub to my channel please, I post gaming videos every day!!!",
    "Hot singles in your area are waiting to chat, click the link in my profile",
    "Best SEO services, guaranteed first page on Google, visit our website today",
    "Send money to Cuba with zero fees this week only, download our app now",
    "RECARGAS DOBLES hoy!! Paga en https://pagos-recargas.shop o www.recargacuba.online, "
    "pedidos al WhatsApp +1 305 555 0111 o a ventas.recargas@gmail.com",
    "Gana 500 dólares a la semana desde tu casa, más info en https://trabajoencasa.site y "
    "https://bit.ly/ganaya, llámame al +1 786 555 0123 o escribe a ganancias.ya@gmail.com",
    "Earn $3000 a month with our crypto plan, sign up at https://cryptoprofit.club or "
    "www.invest-now.online, WhatsApp +44 7700 900456, email support@cryptoprofit.club",
    "Instant loans up to $5000, no documents, approved in one hour! Email "
    "approved.loans@outlook.com or call +1 415 555 0199 now",
    "Double your bitcoin in 48 hours, guaranteed returns. Email our manager at "
    "btc.manager@gmail.com or message +44 7700 900789 on WhatsApp",
    "Dr. Ogun cast a love spell that brought my ex back in 3 days, email him at "
    "drogun.spells@gmail.com",
)
SEED_HAM: tuple[str, ...] = (
    "Excelente reportaje, ojalá el gobierno responda por la falta de medicinas en los "
    "policlínicos.",
    "En Camagüey el pan de la cuota viene cada vez más pequeño y nadie dice nada.",
    "Yo trabajé en esa empresa y lo que cuentan es cierto, los salarios no alcanzan.",
    "Corrección: el corte de luz en Matanzas empezó el lunes, no el martes como dice la nota.",
    "¿Por qué no publican los nombres de los funcionarios responsables?",
    "Mi abuela lleva dos meses esperando una cita con el cardiólogo en el hospital de Bayamo.",
    "Qué tristeza ver cómo se cae La Habana Vieja, gracias por las fotos.",
    "El dólar en el mercado informal ya está a 320 pesos, los precios suben cada semana.",
    "Mi primo me hizo una recarga desde Tampa y aun así no tengo datos por los cortes.",
    "Sería bueno que investiguen a dónde van las donaciones de leche en polvo para los niños.",
    "No estoy de acuerdo con el comentario anterior, la culpa no es solo del bloqueo.",
    "Llevamos una semana sin gas licuado en Las Tunas, la cola empieza a las cuatro de la mañana.",
    "Buen trabajo periodístico, compartí el artículo con mi familia en el extranjero.",
    "El transporte público en Santa Clara es un desastre, las guaguas pasan cada dos horas.",
    "Hay que hablar también de los médicos que se van del país por el bajo salario.",
    "Felicidades a Industriales por el campeonato, aunque el estadio está destruido.",
    "¿Cómo puedo enviarles fotos de lo que pasa en mi barrio sin que me identifiquen?",
    "La tienda en MLC de mi municipio lleva un mes sin aceite y sin pollo.",
    "Mi vecino pagó 800 dólares por un pasaje y el vuelo se canceló sin reembolso.",
    "Gracias por escribir sobre los presos políticos, sus familias necesitan que se sepa.",
    "Soy enfermera en el hospital pediátrico de Cienfuegos. Faltan sueros y jeringuillas desde "
    "enero. Tengo fotos del almacén vacío, pueden escribirme a enfermera.cfg@proton.me",
    "En la empresa eléctrica de mi provincia venden el combustible de los generadores por la "
    "izquierda. Les dejo un video: https://www.youtube.com/watch?v=abc123XYZ y mi número "
    "+53 5 876 4321 por si quieren confirmar.",
    "Les escribo desde Pinar del Río. El director de la escuela cobra a los padres por las notas. "
    "Tengo audios, mi Signal es +53 5 312 0987.",
    "Documentos del contrato de la constructora con el Estado: "
    "https://drive.google.com/file/d/1AbCdEf/view los conseguí por un amigo que trabaja allí. "
    "Contacto: fuente.segura@tutanota.com",
    "Quisiera denunciar que en el central azucarero de mi pueblo despidieron a 40 trabajadores "
    "sin pagarles. Mi teléfono es 52 34 56 78, llamar después de las 6.",
    "Tengo información sobre la venta ilegal de medicamentos en la farmacia principal de "
    "Guantánamo. La gente se queja en https://www.facebook.com/groups/123456",
    "Soy periodista independiente en Sancti Spíritus, tengo un reportaje sobre la escasez de agua "
    "con fotos en https://www.dropbox.com/sh/abcd/efgh. Escríbanme por WhatsApp al +53 5 234 9876.",
    "El precio de la libra de arroz en el mercado de la calle 70 llegó a 350 pesos hoy, les mando "
    "la foto por correo si me dan una dirección.",
    "Mi hijo está en el servicio militar y no le dan comida suficiente. Pueden contactarme en "
    "madre.preocupada@gmail.com",
    "Vi cómo cargaban camiones con cemento de la obra del hospital hacia casas particulares. "
    "Tengo las matrículas. Mi número: +53 5 555 0102.",
    "Thanks for covering the hospital shortages; my aunt is a nurse and confirms every word.",
    "The numbers in the third paragraph don't add up, please check the ministry's report at "
    "https://www.minsap.gob.cu",
    "I live in Miami and send money to my parents every month, and prices there keep rising.",
    "Great piece. Could you follow up on what happened to the fishermen who were arrested?",
    "I have documents about the port contracts. You can reach me at +1 786 555 0143 or "
    "tips.havana@proton.me",
    "Here is the video of the protest in Caimanera: https://youtu.be/XyZ987abc please blur the "
    "faces.",
    "Your reporter got the date wrong, the outage started on Sunday night.",
    "I disagree with this article, the embargo is not the only reason for the crisis.",
    "My brother works at the Felton power plant; they have had no spare parts for months. Email "
    "me at felton.worker@gmail.com",
    "Is there any way to subscribe to your newsletter? I'd like to get the weekly summary.",
    "Check the official gazette, the new tax rules were published on Friday.",
    "I called the number the ministry published (7 838 1234) and nobody answered for three days.",
    # Tips as sources send them: a story, links to the evidence, how to reach them.
    "Soy contador en la empresa de acopio de Artemisa. Los informes de pérdidas se falsifican "
    "cada mes. Subí los documentos a https://drive.proton.me/urls/XK29PQ y hay más en "
    "https://www.dropbox.com/s/q8w/informes.xlsx Pueden llamarme al +53 5 448 2190 o escribir a "
    "contador.artemisa@proton.me",
    "Vivo frente al policlínico de Playa. Anoche se llevaron las medicinas en un carro particular, "
    "grabé el video: https://www.youtube.com/watch?v=Qw3rTy7 y las fotos están en "
    "https://imgur.com/a/fotos123 Mi teléfono es 7 203 4455, mi correo vecina.playa@gmail.com",
    "Les escribo por lo del derrumbe en la calle Obispo. El edificio tenía orden de evacuación "
    "desde 2019, aquí la copia: https://drive.google.com/file/d/9ZzXyW/view. Si necesitan hablar "
    "con los vecinos llamen al +53 5 301 7788 o escriban a comite.obispo@nauta.cu",
    "Trabajo en la terminal de ómnibus de Santa Clara y los pasajes se revenden en la puerta. "
    "Tengo audios del jefe de turno en https://www.mediafire.com/file/abc/audios.zip y "
    "https://archive.org/details/terminal-sc. Contacto por Signal al +53 5 990 1234 o "
    "chofer.sc@tutanota.com",
    "Mi hermana es maestra en Bayamo y lleva cuatro meses sin cobrar. Las nóminas están aquí: "
    "https://drive.google.com/drive/folders/1qWeRt y aquí el reclamo que mandaron: "
    "https://www.facebook.com/permalink/555 Pueden llamarla al 23 42 1187 o escribirle a "
    "maestra.bayamo@gmail.com",
    "I am a nurse at the Calixto García hospital. Patients are being asked for dollars to get "
    "surgery. Recordings: https://drive.proton.me/urls/NUR5E and a list of cases at "
    "https://pastebin.com/raw/h0sp1tal Call me on +53 5 602 3344 or email "
    "nurse.calixto@proton.me",
    "I keep the books for the fishing cooperative in Caibarién. The catch goes to the hotels and "
    "the ration stores get nothing. Ledgers at https://www.dropbox.com/s/coop/ledger.pdf and "
    "photos at https://imgur.com/a/catch. Reach me at +1 786 555 0177 or coop.books@tutanota.com",
    "My father was detained at the police station on Zanja street two days ago and nobody tells "
    "us why. His lawyer's letter: https://drive.google.com/file/d/LAWy3r/view. Please call my "
    "mother at +53 5 214 8899 or write to family.detained@gmail.com",
    "The school in Alamar has had no water for a month and the children are sent home at noon. "
    "Photos: https://imgur.com/a/alamar1 Call +53 5 778 2211 after six, or write to "
    "parent.alamar@gmail.com",
    "The new electricity meters in Cerro are charging double. I have the bills at "
    "https://www.dropbox.com/s/bills/cerro.pdf and a petition at https://change.org/p/cerro "
    "Call 7 881 2030 or write to cerro.meters@gmail.com",
    "I can confirm the story about the sugar mill, my uncle worked there until March. Call him at "
    "+53 5 417 6622, he speaks English, or email uncle.mill@yahoo.com",
    "Pharmacists in Holguín are selling insulin under the counter for 40 dollars a vial. The price "
    "list they send on WhatsApp is at https://imgur.com/a/insulin2 Call me at +53 5 331 9087 or "
    "write to pharma.worker@proton.me if you want to check it.",
    "The water truck only comes to our block if the neighbours pay the driver. Video of last week: "
    "https://www.youtube.com/watch?v=h2oTruck Call +53 5 120 4433 in the evening, or email "
    "block.seven@gmail.com",
    "Three families in Regla were evicted yesterday with no court order. The notice is at "
    "https://drive.google.com/file/d/EvIcT/view Their representative can be reached at "
    "+53 5 866 1290 or regla.families@yahoo.com",
    # Readers citing their sources: a link in a comment is not spam for itself.
    "La fuente es el propio ministerio: https://www.minsap.gob.cu/noticias/parte-del-dia",
    "Aquí está la noticia original de la agencia: https://www.efe.com/america/cuba-apagones",
    "Según este informe de la ONU https://www.un.org/es/report/2025 la cifra es mucho mayor.",
    "Lo publicó ayer el periódico local, https://www.ahora.cu/es/holguin/agua y dice lo contrario.",
    "Miren el video del derrumbe en Centro Habana: https://www.facebook.com/watch/?v=81234 es "
    "de anoche.",
    "Fuente: https://periodicocubano.com/precio-del-pollo y la foto del mercado es mía.",
    "El decreto está en la Gaceta Oficial https://www.gacetaoficial.gob.cu/es/decreto-77 "
    "artículo 12.",
    "Para quien dude, el parte meteorológico: https://www.insmet.cu/asp/genesis.asp?TB0=PLANTILLAS",
    "The original Reuters piece is here: https://www.reuters.com/world/americas/cuba-grid-2025 "
    "and it quotes the same official.",
    "Source for the inflation figure: https://www.eltoque.com/tasas-de-cambio-de-moneda-en-cuba-hoy",
    "Here is the court filing https://www.courtlistener.com/docket/6612/ if anyone wants to read "
    "it.",
    "The photos are on the parish page, https://www.instagram.com/p/C9xYz and "
    "https://www.flickr.com/photos/parroquia/ from Sunday.",
    "Data from the census office: https://www.onei.gob.cu/publicaciones/anuario-2024 table 3.1.",
    "Same story in English for my cousins: https://www.bbc.com/news/world-latin-america-6711",
)
SEED_SOURCE = "seed"
# Each seed example counts as this many base examples: a hundred among 7,530 would teach little.
SEED_WEIGHT = 5.0


def seed_examples(weight: float = 1.0) -> list[Example]:
    """The hand-written seed examples above, each counting `weight` times."""
    return [Example(text, True, weight, SEED_SOURCE) for text in SEED_SPAM] + [
        Example(text, False, weight, SEED_SOURCE) for text in SEED_HAM
    ]
