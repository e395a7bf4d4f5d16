"""Every message on every page is translated; Vietnamese by default, English on request."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.web import i18n, reasons
from tests.factories import PHUC_XA
from tests.web.pages import sign_in

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = i18n.LOCALE_DIR / "vi" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")


def extracted(directory: Path, mapping_file: Path = ROOT / "babel.cfg") -> dict[str, str]:
    """Message id -> first place it is used, extracted the way `pybabel extract` does."""
    with mapping_file.open(encoding="utf-8") as handle:
        # Babel leaves this function unannotated.
        method_map, options_map = parse_mapping_cfg(  # type: ignore[no-untyped-call]
            handle, filename=str(mapping_file)
        )
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(directory), method_map, options_map
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def untranslated(messages: dict[str, str]) -> list[str]:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="vi")
    missing = []
    for msgid, where in sorted(messages.items(), key=lambda item: item[1]):
        entry = catalogue.get(msgid)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(f"{where}: {msgid!r}")
    return missing


def test_every_message_has_a_vietnamese_translation() -> None:
    messages = extracted(ROOT)
    templates = {m for m, where in messages.items() if "/templates/" in where}
    assert len(templates) > 100  # the templates were found and read
    missing = untranslated(messages)
    assert not missing, "add these to messages.po:\n" + "\n".join(missing)


def test_every_message_is_in_the_catalogue_once() -> None:
    """A second entry for one id is refused by msgfmt and silently shadows the first in Babel."""
    ids = re.findall(r'^msgid "(.+)"$', CATALOGUE.read_text(encoding="utf-8"), re.M)
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert not repeated, "remove the second entry of: " + ", ".join(repeated)


def test_a_new_untranslated_template_string_is_caught(tmp_path: Path) -> None:
    folder = tmp_path / "src" / "phongdich" / "thing" / "templates" / "thing"
    folder.mkdir(parents=True)
    (folder / "page.html").write_text(
        '{% extends "base.html" %}{% block content %}'
        '<h1>{{ _("People") }}</h1><p>{{ _("A sentence nobody translated") }}</p>'
        "{% endblock %}",
        encoding="utf-8",
    )
    missing = untranslated(extracted(tmp_path))
    assert len(missing) == 1
    assert "A sentence nobody translated" in missing[0]


def test_translations_keep_the_placeholders() -> None:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="vi")
    for message in catalogue:
        if message.id and isinstance(message.id, str) and isinstance(message.string, str):
            assert sorted(PLACEHOLDER.findall(message.id)) == sorted(
                PLACEHOLDER.findall(message.string)
            ), message.id


def test_service_reasons_are_translated_with_their_values() -> None:
    i18n.set_locale("vi")
    try:
        assert reasons.translate("required") == "bắt buộc"
        assert reasons.translate("31/02/1990 is not a real date") == (
            "31/02/1990 không phải là ngày có thật"
        )
        assert reasons.translate("a reason nobody listed") == "a reason nobody listed"
    finally:
        i18n.set_locale(i18n.DEFAULT_LOCALE)


def test_pages_are_vietnamese_by_default(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    assert "Đăng nhập" in page.text
    assert "Mật khẩu" in page.text
    assert "Log in" not in page.text


def test_english_is_chosen_with_lang_and_kept_by_the_cookie(
    client: TestClient, session: Session
) -> None:
    sign_in(client, session, Role.COMMUNE_OFFICER, PHUC_XA)
    english = client.get("/persons?lang=en")
    assert '<html lang="en">' in english.text
    assert ">People</a>" in english.text
    assert "Người dân" not in english.text
    assert client.cookies.get("lang") == "en"
    # The cookie keeps English on the next page, without the parameter.
    assert ">Register a person</a>" in client.get("/persons").text
    # The switch back keeps the page and its query.
    assert 'href="/persons?q=hoa&amp;lang=vi"' in client.get("/persons?q=hoa").text
    vietnamese = client.get("/persons?q=hoa&lang=vi")
    assert '<html lang="vi">' in vietnamese.text
    assert ">Người dân</a>" in vietnamese.text
    assert "Người dân" in client.get("/persons").text


def test_an_unknown_language_falls_back_to_vietnamese(client: TestClient) -> None:
    page = client.get("/login?lang=xx")
    assert '<html lang="vi">' in page.text
    assert "lang" not in client.cookies
