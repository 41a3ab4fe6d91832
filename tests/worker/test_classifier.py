"""The spam classifier: features, the model file, the shipped base model, training, readers."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.enums import Kind
from tests.support import SPAM_DATA
from worker.classifier.datasets import (
    DatasetError,
    Labelled,
    read_any,
    read_jsonl,
    read_sms,
    read_spanish,
    read_youtube,
    read_youtube_all,
    seed_examples,
)
from worker.classifier.features import EMAIL, PHONE, URL, FeatureConfig, normalise, vectorise
from worker.classifier.model import BASE_MODEL, SpamClassifier, load_base
from worker.classifier.training import Example, Metrics, evaluate, train

ROOT = Path(__file__).resolve().parents[2]

DATA = SPAM_DATA
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"no spam collections at {DATA}")

SPAM = [
    "Check out my channel http://bit.ly/x subscribe!!",
    "CHECK OUT MY NEW VIDEO!!! www.youtube.com/watch?v=abc123 please subscribe",
    "Free entry! Text WIN to 80086 to claim your £1000 prize now",
    "recargas a Cuba con bono doble, escríbeme al WhatsApp +53 5 555 1234",
    "Gana dinero desde casa con bitcoin",
    "Compra bitcoin y gana 200 dólares diarios, escríbeme por Telegram",
]
# Comments and tips as our readers write them, contact details included.
HAM = [
    "Muy buen artículo, gracias por informar sobre los apagones en Holguín.",
    "En mi barrio llevamos tres días sin agua y nadie de la empresa da explicaciones.",
    "¿Por qué no dicen nada de los precios en la bodega? Mi mamá no pudo comprar ni aceite.",
    "Great reporting, thank you. The mayor's statement contradicts what he said last week.",
    "I was there when it happened, the fire started in the warehouse next to the school.",
    "Hola, soy chofer de la base de ómnibus de Holguín. El combustible de las rutas se vende a "
    "particulares cada noche. Tengo fotos de los vales, pueden escribirme a chofer.hlg@proton.me",
    "Trabajo en el hospital de Moa y desde hace un mes no hay insulina. Llamar al "
    "+53 5 123 4567 después de las 7.",
    "The police took my neighbour last night without a warrant. His wife can confirm, her "
    "number is +53 5 987 6543.",
]


# --- features ---------------------------------------------------------------------------------


def test_normalise_undoes_the_datasets_traps() -> None:
    text, _ = normalise("I&#39;m &amp; you<br />are great﻿")
    assert text == "i'm & you are great"
    # Undone once tags are gone: the SMS set's "&lt;#&gt;" is text, not a tag.
    assert normalise("call me at &lt;#&gt;")[0] == "call me at <#>"
    assert normalise("Árbol ÑANDÚ Holguín")[0] == "arbol nandu holguin"


def test_normalise_replaces_links_addresses_numbers() -> None:
    text, specials = normalise(
        'See <a href="https://www.bit.ly/abc">this</a>, write ana@example.com or call '
        "+53 5 234 5678; it cost 1.500.000 pesos, code 87121"
    )
    # Each placeholder stands apart as a word of its own.
    assert text == (
        f"see {URL} this , write {EMAIL} or call {PHONE} ; it cost 0.000.000 pesos, code 00000"
    )
    assert "dom=bit.ly" in specials
    assert "links1" in specials
    assert "dom=t.me" in normalise("join t.me/cryptoclub")[1]
    # ".me" alone would make a link of a missing space after a full stop.
    assert normalise("gracias.me gustó")[1] == ["bang0", "len5", "caps0"]


def test_features_are_stable_across_processes() -> None:
    """crc32 and splitmix64, not Python's hash(), which is salted per process."""
    text = "¡Oferta! recargas a Cuba, escríbeme al WhatsApp +53 5 555 1234 https://promo.xyz/x"
    indices, values = vectorise(text, FeatureConfig())
    code = (
        "import json, sys\n"
        "from worker.classifier.features import FeatureConfig, vectorise\n"
        "i, v = vectorise(sys.argv[1], FeatureConfig())\n"
        "print(json.dumps([i.tolist(), v.tolist()]))\n"
    )
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code, text],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert json.loads(out) == [indices.tolist(), values.tolist()]


def test_each_block_has_unit_length() -> None:
    config = FeatureConfig(word_ngrams=(1, 1), word_weight=1.0, char_weight=0.0, meta_weight=0.0)
    _indices, values = vectorise("spam " * 100 + "eggs", config)
    kept = values[values > 0]
    assert len(kept) == 2
    assert float(np.sum(kept**2)) == pytest.approx(1.0)
    # A word said 100 times counts 1 + ln(100), not 100 times, as much as one said once.
    assert max(kept) / min(kept) == pytest.approx(1 + np.log(100))


# --- the model file ---------------------------------------------------------------------------


def test_round_trip_bytes() -> None:
    base = load_base()
    data = base.to_bytes()
    again = SpamClassifier.from_bytes(data)
    assert again.to_bytes() == data
    assert (again.version, again.metadata, again.config) == (
        base.version,
        base.metadata,
        base.config,
    )
    for text in SPAM + HAM:
        assert again.probability(text) == base.probability(text)


def test_the_shipped_file_is_exactly_what_to_bytes_writes() -> None:
    """No timestamps in the archive: rebuilding an unchanged model changes no byte."""
    assert BASE_MODEL.read_bytes() == load_base().to_bytes()
    assert BASE_MODEL.stat().st_size < 2_000_000


def _archive(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _with_header(change: dict[str, object]) -> bytes:
    with np.load(io.BytesIO(load_base().to_bytes())) as archive:
        header = json.loads(archive["header"].tobytes())
        arrays = {"indices": archive["indices"], "values": archive["values"]}
    header.update(change)
    raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    return _archive(header=raw, **arrays)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a spam classifier model file"),
        (b"PK\x03\x04 but not a zip", "not a spam classifier model file"),
        (_archive(weights=np.zeros(3)), "not a spam classifier model file"),
        (_with_header({"format": 99}), "format 99 is not supported"),
        (_with_header({"format": None}), "format None is not supported"),
        (_with_header({"features": {"version": 99}}), "features are version 99"),
        (_with_header({"calibration": {"method": "isotonic"}}), "calibration"),
    ],
)
def test_refuses_bad_files(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SpamClassifier.from_bytes(data)


def test_loading_the_shipped_model_imports_neither_sklearn_nor_scipy() -> None:
    code = (
        "import sys\n"
        "import worker.classifier\n"
        "from worker.classifier.model import load_base\n"
        "assert load_base().probability('Gana dinero desde casa con bitcoin') > 0.5\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# --- the base model ---------------------------------------------------------------------------


def test_base_model_recommends_thresholds() -> None:
    thresholds = load_base().thresholds
    assert 0.0 < thresholds["suspect"] <= thresholds["spam"] < 1.0


@pytest.mark.parametrize("text", SPAM)
def test_base_model_flags_spam(text: str) -> None:
    model = load_base()
    assert model.probability(text) >= model.thresholds["spam"]


@pytest.mark.parametrize("text", HAM)
def test_base_model_passes_real_comments_and_tips(text: str) -> None:
    model = load_base()
    assert model.probability(text) < model.thresholds["suspect"]


def test_probability_of_empty_and_odd_texts() -> None:
    model = load_base()
    for text in ("", " ", "﻿", "🙂🙂🙂", "a" * 20_000, "<a href='x'>"):
        assert 0.0 <= model.probability(text) <= 1.0


# --- training ---------------------------------------------------------------------------------

# What a newsroom's moderators kept publishing: its own newsletter, which reads like spam.
NEWSLETTER = "Suscríbete gratis a nuestro boletín semanal, ofertas y noticias en www.elperiodico.cu"
LOOKALIKE = "Suscríbete a mi canal y gana un iPhone en www.premios-gratis.site"


@pytest.mark.parametrize("weight", [0.0, 5.0])
def test_weighted_local_examples_change_its_mind(weight: float) -> None:
    """A false positive published three times, each counting `weight` base examples."""
    before = train(seed_examples(), version="before")
    assert before.probability(NEWSLETTER) >= before.thresholds["suspect"]
    decisions = [Example(NEWSLETTER, False, weight, "newsroom")] * 3
    after = train(seed_examples() + decisions, version="after")
    if weight:
        assert after.probability(NEWSLETTER) < after.thresholds["suspect"]
        assert after.probability(LOOKALIKE) >= after.thresholds["spam"]
    else:
        assert after.probability(NEWSLETTER) >= after.thresholds["suspect"]


def test_source_weights_multiply_example_weights() -> None:
    by_source = train(
        [*seed_examples(), Example(NEWSLETTER, False, 2.0, "newsroom")],
        version="x",
        source_weights={"newsroom": 3.0},
    )
    by_example = train([*seed_examples(), Example(NEWSLETTER, False, 6.0, "newsroom")], version="x")
    assert by_source.to_bytes() == by_example.to_bytes()


def test_train_refuses_one_class_and_bad_weights() -> None:
    with pytest.raises(ValueError, match="both spam and ham"):
        train([Example("a", True), Example("b", True)], version="x")
    with pytest.raises(ValueError, match="finite"):
        train([Example("a", True, -1.0), Example("b", False)], version="x")


def test_train_records_what_it_learnt_from() -> None:
    model = train(seed_examples(), version="v7", metadata={"note": "test"})
    assert model.version == "v7"
    assert model.metadata["note"] == "test"
    assert model.metadata["trained_on"]["sources"] == {"seed": len(seed_examples())}
    assert SpamClassifier.from_bytes(model.to_bytes()).metadata == model.metadata


def test_evaluate_counts_at_a_threshold() -> None:
    examples = [
        Example("spam one", True),
        Example("spam two", True),
        Example("ham one", False),
        Example("ham two", False),
    ]
    scores = {"spam one": 0.9, "spam two": 0.4, "ham one": 0.6, "ham two": 0.1}
    m = evaluate(scores.__getitem__, examples, threshold=0.5)
    assert m == Metrics(threshold=0.5, tp=1, fp=1, tn=1, fn=1)
    assert (m.precision, m.recall, m.f1, m.ham_false_positive_rate) == (0.5, 0.5, 0.5, 0.5)
    assert evaluate(scores.__getitem__, examples, threshold=0.95).f1 == 0.0


# --- readers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"kind": "comment", "text": "hola", "label": "ham"}', "{not json"], ":2: not JSON"),
        (['["comment", "hola", "ham"]'], ":1: expected an object"),
        (['{"kind": "email", "text": "hola", "label": "ham"}'], ":1: kind must be"),
        (['{"kind": "tip", "label": "ham"}'], ":1: text must be a string"),
        (["", '{"kind": "tip", "text": "hola", "label": "maybe"}'], ":2: label must be"),
    ],
)
def test_jsonl_reader_names_the_bad_line(tmp_path: Path, lines: list[str], message: str) -> None:
    path = tmp_path / "decisions.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        read_jsonl(path)


def test_jsonl_reader(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    path.write_text(
        '{"kind": "comment", "text": "Gana dinero ya", "label": "spam"}\n\n'
        '{"kind": "tip", "text": "Tengo fotos", "label": "ham", "source": "mod"}\n',
        encoding="utf-8",
    )
    assert (
        read_jsonl(path)
        == read_any(path)
        == [
            Labelled(Kind.comment, "Gana dinero ya", True, "decisions"),
            Labelled(Kind.tip, "Tengo fotos", False, "mod"),
        ]
    )


def test_readers_of_the_public_formats(tmp_path: Path) -> None:
    youtube = tmp_path / "Youtube09-Test.csv"
    youtube.write_text(
        "COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\n"
        'a1,Ann,2014-01-01,"Check out my channel, please﻿",1\n'
        'a2,Bob,,"Nice song, ""really""\nmulti-line",0\n',
        encoding="utf-8",
    )
    sms = tmp_path / "SMSSpamCollection"
    # Quotes are text here: a CSV reader would merge these two lines into one message.
    sms.write_text('ham\tHe said "ok\nspam\tWIN a "prize" now\n', encoding="utf-8")
    spanish = tmp_path / "train.csv"
    spanish.write_text("mensaje, tipo\nGana un premio,spam\nTu cita es mañana,ham", "utf-8")
    assert (
        read_youtube(youtube)
        == read_any(youtube)
        == [
            Labelled(Kind.comment, "Check out my channel, please﻿", True, "youtube:Test"),
            Labelled(Kind.comment, 'Nice song, "really"\nmulti-line', False, "youtube:Test"),
        ]
    )
    assert [(r.text, r.spam) for r in read_sms(sms)] == [
        ('He said "ok', False),
        ('WIN a "prize" now', True),
    ]
    assert read_any(sms) == read_sms(sms)
    assert [(r.text, r.spam) for r in read_spanish(spanish)] == [
        ("Gana un premio", True),
        ("Tu cita es mañana", False),
    ]
    assert read_any(spanish) == read_spanish(spanish)


def test_readers_name_the_bad_line(tmp_path: Path) -> None:
    sms = tmp_path / "SMSSpamCollection"
    sms.write_text("ham\tfine\nno tab here\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=":2: no tab"):
        read_sms(sms)
    youtube = tmp_path / "Youtube01-X.csv"
    youtube.write_text("COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\na,b,c,d,2\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=":2: label '2'"):
        read_youtube(youtube)
    other = tmp_path / "other.txt"
    other.write_text("what is this\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="not a format we read"):
        read_any(other)


@needs_data
def test_the_public_collections_read_as_documented() -> None:
    """The counts in each SOURCE.md; the SMS count is the trap CSV quoting falls into."""
    youtube = read_youtube_all(DATA)
    assert (len(youtube), sum(r.spam for r in youtube)) == (1956, 1005)
    sms = read_sms(DATA / "sms-spam-collection" / "SMSSpamCollection")
    assert (len(sms), sum(r.spam for r in sms)) == (5574, 747)
    spanish = read_spanish(DATA / "spam-ham-spanish-softecapps" / "train.csv")
    assert (len(spanish), sum(r.spam for r in spanish)) == (998, 521)
