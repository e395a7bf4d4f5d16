"""Posters: the QR scans as a phone would read it, prints 15 cm wide, and speaks Vietnamese."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium  # type: ignore[import-untyped]  # ships no type information
import pytest
import segno
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from phongdich.auth.roles import Role
from phongdich.venues import posters
from phongdich.venues.models import Venue
from phongdich.venues.schemas import VenueInput
from phongdich.venues.service import register_venue
from phongdich.web import i18n
from tests.factories import PHUC_XA, TRUC_BACH, bearer, make_user

URL = "https://phongdich.example.vn/c/"
RENDER_DPI = 200
NAME = "Quán phở Bát Đàn – Chi nhánh Hòe Nhai"


def _venue(
    session: Session, name: str = NAME, address: str = "Số 12 phố Hòe Nhai", unit: str = PHUC_XA
) -> Venue:
    _, manager = make_user(session, Role.VENUE_MANAGER, unit)
    return register_venue(
        session=session,
        actor=manager,
        data=VenueInput(name=name, category="restaurant", unit_code=unit, address=address),
    )


def _page_image(pdf: bytes, dpi: int = RENDER_DPI) -> Image.Image:
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        try:
            image: Image.Image = page.render(scale=dpi / 72).to_pil().convert("L")
            return image
        finally:
            page.close()
    finally:
        document.close()


def _page_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        textpage = page.get_textpage()
        try:
            return str(textpage.get_text_range())
        finally:
            textpage.close()
            page.close()
    finally:
        document.close()


def _page_size_mm(pdf: bytes) -> tuple[float, float]:
    document = pdfium.PdfDocument(pdf)
    try:
        width, height = document.get_page_size(0)
        return width * 25.4 / 72, height * 25.4 / 72
    finally:
        document.close()


def _scan(image: Image.Image) -> zxingcpp.Result:
    """The one QR code on the image, read the way a phone's scanner reads it."""
    results = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    assert len(results) == 1
    assert results[0].valid
    return results[0]


def _symbol_box(image: Image.Image, found: zxingcpp.Result) -> tuple[int, int, int, int]:
    """The dark pixels around where the scanner found the code: the symbol's exact edges.

    The scanner's corners are rough; the quiet zone around the symbol is white, so looking a
    little beyond them finds nothing but the symbol itself.
    """
    corners = [found.position.top_left, found.position.bottom_right]
    corners += [found.position.top_right, found.position.bottom_left]
    xs, ys = [c.x for c in corners], [c.y for c in corners]
    slack = (max(xs) - min(xs)) // 20
    left, top = min(xs) - slack, min(ys) - slack
    region = np.asarray(image)[top : max(ys) + slack, left : max(xs) + slack] < 128
    rows, columns = np.nonzero(region)
    return (
        left + int(columns.min()),
        top + int(rows.min()),
        left + int(columns.max()) + 1,
        top + int(rows.max()) + 1,
    )


@pytest.fixture
def english() -> Iterator[None]:
    """A request in English: the poster must stay Vietnamese."""
    i18n.set_locale("en")
    try:
        yield
    finally:
        i18n.set_locale(i18n.DEFAULT_LOCALE)


def test_pdf_qr_holds_the_check_in_url_and_prints_150_mm_wide(session: Session) -> None:
    venue = _venue(session)
    url = URL + venue.code
    pdf = posters.poster_pdf(session, venue, url)
    assert pdf.startswith(b"%PDF")
    width, height = _page_size_mm(pdf)
    assert width == pytest.approx(210, abs=0.5)
    assert height == pytest.approx(297, abs=0.5)

    image = _page_image(pdf)
    found = _scan(image)
    assert found.text == url
    left, top, right, bottom = _symbol_box(image, found)
    mm_per_pixel = 25.4 / RENDER_DPI
    assert (right - left) * mm_per_pixel == pytest.approx(150, abs=1)
    assert (bottom - top) * mm_per_pixel == pytest.approx(150, abs=1)
    # Centred across the page.
    assert (left + right) / 2 * mm_per_pixel == pytest.approx(105, abs=1)
    # The quiet zone (4 modules) is white all round; the symbol's own antialiased edge aside.
    module = (right - left) / segno.make(url, error="m", micro=False).symbol_size(border=0)[0]
    quiet, edge = int(4 * module) - 1, 2
    pixels = np.asarray(image)
    around = pixels[top - quiet : bottom + quiet, left - quiet : right + quiet].copy()
    around[quiet - edge : -quiet + edge, quiet - edge : -quiet + edge] = 255
    assert around.min() > 200


def test_pdf_text_is_vietnamese_with_its_diacritics(session: Session, english: None) -> None:
    venue = _venue(session)
    text = " ".join(_page_text(posters.poster_pdf(session, venue, URL + venue.code)).split())
    assert NAME in text
    assert "QUÉT MÃ QR ĐỂ KHAI BÁO RA VÀO" in text
    assert "Nhà hàng" in text  # the category, in Vietnamese though the request is English
    assert "Số 12 phố Hòe Nhai" in text
    assert "Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội" in text
    assert f"Mã địa điểm: {venue.code}" in text
    assert "CCCD" in text


def test_a_long_name_wraps_and_keeps_clear_of_the_qr(session: Session) -> None:
    name = "Hợp tác xã dịch vụ thương mại tổng hợp " * 5
    address = "Ngõ 15 ngách 27 hẻm 4, khu tập thể Nhà máy Dệt, tổ dân phố số 12, " * 4
    venue = _venue(session, name=name.strip()[:200], address=address.strip()[:300])
    url = URL + venue.code
    poster = posters.layout(session, venue, url)
    quiet = 4 * poster.module
    for line in poster.lines:
        assert posters.text_width(line.text, line.size, line.bold) <= posters.TEXT_WIDTH + 0.01
        top = line.baseline - line.size * posters.POINT
        bottom = line.baseline + 0.3 * line.size * posters.POINT
        assert top > 0
        assert bottom < posters.PAGE_HEIGHT
        clear_above = bottom <= poster.qr_top - quiet
        clear_below = top >= poster.qr_top + posters.QR_WIDTH + quiet
        assert clear_above or clear_below, line.text
    pdf = posters.render_pdf(poster)
    assert _scan(_page_image(pdf)).text == url
    assert "Hợp tác xã dịch vụ thương mại" in _page_text(pdf)


def test_png_is_a4_at_150_dpi_with_whole_pixels_per_module(session: Session) -> None:
    venue = _venue(session)
    url = URL + venue.code
    png = posters.poster_png(session, venue, url)
    with Image.open(io.BytesIO(png)) as opened:
        assert opened.format == "PNG"
        image = opened.convert("L")
    assert image.size == (1240, 1754)
    found = _scan(image)
    assert found.text == url
    left, top, right, bottom = _symbol_box(image, found)
    count = segno.make(url, error="m", micro=False).symbol_size(border=0)[0]
    assert (right - left) % count == 0
    assert (right - left) == (bottom - top)
    assert (right - left) * 25.4 / 150 == pytest.approx(150, abs=3)


def test_the_font_comes_from_matplotlib_when_the_system_has_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(posters, "FONT_FOLDERS", (tmp_path,))
    posters.font_files.cache_clear()
    try:
        regular, bold = posters.font_files()
        assert "matplotlib" in str(regular)
        assert regular.name == "DejaVuSans.ttf"
        assert bold.name == "DejaVuSans-Bold.ttf"
    finally:
        posters.font_files.cache_clear()


# Through the API


def test_the_manager_and_the_units_official_get_the_posters(
    client: TestClient, session: Session
) -> None:
    manager_user, manager = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    venue = register_venue(
        session=session,
        actor=manager,
        data=VenueInput(name="Chợ Châu Long", category="market", unit_code=PHUC_XA),
    )
    pdf = client.get(f"/api/venues/{venue.code}/poster.pdf", headers=bearer(session, manager_user))
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert f"poster-{venue.code}.pdf" in pdf.headers["content-disposition"]
    # The QR points at this server's check-in page for the venue.
    assert _scan(_page_image(pdf.content)).text == f"http://testserver/c/{venue.code}"

    official_user, _ = make_user(session, Role.COMMUNE_OFFICER, PHUC_XA)
    png = client.get(f"/api/venues/{venue.code}/poster.png", headers=bearer(session, official_user))
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as image:
        assert _scan(image.convert("L")).text == f"http://testserver/c/{venue.code}"


def test_others_get_no_poster(client: TestClient, session: Session) -> None:
    venue = _venue(session)
    other_manager, _ = make_user(session, Role.VENUE_MANAGER, PHUC_XA)
    other_official, _ = make_user(session, Role.COMMUNE_OFFICER, TRUC_BACH)
    for user in (other_manager, other_official):
        for kind in ("pdf", "png"):
            response = client.get(
                f"/api/venues/{venue.code}/poster.{kind}", headers=bearer(session, user)
            )
            assert response.status_code == 404
    anonymous = client.get(f"/api/venues/{venue.code}/poster.pdf")
    assert anonymous.status_code == 401
