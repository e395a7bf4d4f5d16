"""Printable check-in posters: an A4 sheet for the venue's door, as PDF (to print) or PNG (to send).

The poster is always Vietnamese, whatever language the manager reads the site in: it speaks to
the people at the door. Both renderers draw one layout measured in millimetres, so the PDF and
the PNG say the same thing in the same places.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.drawing import PaintedPath
from fpdf.enums import PathPaintRule
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy.orm import Session

from phongdich.adminunits import service as units
from phongdich.adminunits.models import AdminUnit
from phongdich.venues.models import Venue
from phongdich.venues.service import CATEGORIES
from phongdich.web import i18n

PAGE_WIDTH, PAGE_HEIGHT = 210.0, 297.0  # A4 portrait, mm
MARGIN = 12.0
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN
# The symbol itself, quiet zone excluded: big enough for a phone to read from two metres.
QR_WIDTH = 150.0
QUIET_MODULES = 4  # what the QR standard asks for; nothing is printed there
PNG_DPI = 150
PNG_SIZE = (1240, 1754)  # A4 at 150 dpi
POINT = 25.4 / 72  # mm

HEADING = "QUÉT MÃ QR ĐỂ KHAI BÁO RA VÀO"
INSTRUCTIONS = (
    "Mở camera điện thoại, hướng vào mã QR và làm theo hướng dẫn trên màn hình.",
    "Không có điện thoại thông minh? Xuất trình thẻ CCCD cho nhân viên để được ghi nhận.",
    "Thông tin khai báo chỉ dùng cho công tác phòng, chống dịch.",
)
RED, BLACK, GREY = (183, 28, 28), (0, 0, 0), (66, 66, 66)
FONT_FOLDERS = (Path("/usr/share/fonts/truetype/dejavu"),)
REGULAR_FONT, BOLD_FONT = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"


@cache
def font_files() -> tuple[Path, Path]:
    """DejaVu Sans (regular, bold): every Vietnamese letter, on Debian or inside matplotlib."""
    folders = list(FONT_FOLDERS)
    try:
        import matplotlib

        folders.append(Path(matplotlib.get_data_path()) / "fonts" / "ttf")
    except ImportError:  # a trimmed install; the system font may still be there
        pass
    for folder in folders:
        regular, bold = folder / REGULAR_FONT, folder / BOLD_FONT
        if regular.is_file() and bold.is_file():
            return regular, bold
    raise RuntimeError(
        "no DejaVu Sans font for the posters: install fonts-dejavu-core or matplotlib"
    )


@cache
def _font(bold: bool, pixels: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_files()[1 if bold else 0]), pixels)


def text_width(text: str, size: float, bold: bool) -> float:
    """Printed width in mm at `size` points (measured on a 1000-pixel em for precision)."""
    return _font(bold, 1000).getlength(text) / 1000 * size * POINT


@dataclass(frozen=True)
class TextLine:
    text: str
    size: float  # points
    bold: bool
    baseline: float  # mm from the top of the page; the line is centred across the page
    colour: tuple[int, int, int]


@dataclass(frozen=True)
class Layout:
    """Everything on the poster; the QR as its modules, the quiet zone left out."""

    title: str
    lines: tuple[TextLine, ...]
    modules: tuple[tuple[bool, ...], ...]
    qr_left: float  # mm, the symbol's top-left corner
    qr_top: float

    @property
    def module(self) -> float:
        return QR_WIDTH / len(self.modules)


def _split_word(word: str, size: float, bold: bool, width: float) -> list[str]:
    """A word wider than the line (a long code or address) is broken between letters."""
    pieces, current = [], ""
    for char in word:
        if current and text_width(current + char, size, bold) > width:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current] if current else pieces


def wrap(text: str, size: float, bold: bool, width: float = TEXT_WIDTH) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size, bold) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        pieces = _split_word(word, size, bold, width)
        lines.extend(pieces[:-1])
        current = pieces[-1] if pieces else ""
    if current:
        lines.append(current)
    return lines


def _fit(text: str, sizes: Sequence[float], bold: bool, max_lines: int) -> tuple[float, list[str]]:
    """The largest size at which the text takes at most `max_lines`; cut with '…' otherwise."""
    for size in sizes:
        lines = wrap(text, size, bold)
        if len(lines) <= max_lines:
            return size, lines
    size = sizes[-1]
    lines = wrap(text, size, bold)[:max_lines]
    last = lines[-1]
    while last and text_width(last + "…", size, bold) > TEXT_WIDTH:
        last = last[:-1].rstrip()
    return size, [*lines[:-1], last + "…"]


def _place(session: Session, venue: Venue) -> str:
    """Commune, district and province: 'Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội'."""
    unit = session.get(AdminUnit, venue.unit_code)
    if unit is None:
        return venue.unit_code
    return units.label(unit, units.ancestors(session=session, unit=unit))


def category_label(key: str) -> str:
    """In Vietnamese whatever the request's language: the poster's language is fixed."""
    category = CATEGORIES.get(key)
    return i18n.translations("vi").gettext(category.label) if category else key


class _Lines:
    """Stacks centred lines down the page, each with room for its accents and descenders."""

    def __init__(self) -> None:
        self.lines: list[TextLine] = []
        self.y = 0.0

    def add(
        self,
        texts: Sequence[str],
        size: float,
        *,
        bold: bool = False,
        colour: tuple[int, int, int] = GREY,
        after: float = 1.5,
    ) -> None:
        em = size * POINT
        for text in texts:
            # The top of the em box holds the tallest accents (Ễ, Ẫ); 0.25 em below the baseline
            # the descenders.
            self.lines.append(TextLine(text, size, bold, self.y + em, colour))
            self.y += 1.25 * em
        self.y += after


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def layout(session: Session, venue: Venue, url: str, *, name_sizes: Sequence[float] = ()) -> Layout:
    """Heading, venue, the QR with its quiet zone, then the code and what to do."""
    code = segno.make(url, error="m", micro=False)
    modules = tuple(tuple(bool(v) for v in row) for row in code.matrix)
    quiet = QUIET_MODULES * QR_WIDTH / len(modules)
    sizes = name_sizes or (30, 28, 26, 24, 22, 20, 18, 16, 14)

    top = _Lines()
    size, heading = _fit(HEADING, (24, 22, 20, 18, 16), True, 1)
    top.add(heading, size, bold=True, colour=RED, after=3)
    size, name = _fit(_nfc(venue.name), sizes, True, 2)
    top.add(name, size, bold=True, colour=BLACK, after=1)
    top.add([category_label(venue.category)], 15, colour=GREY, after=1)
    if venue.address:
        size, address = _fit(_nfc(venue.address), (12, 11, 10), False, 2)
        top.add(address, size, after=0)
    # On a line of its own, so that a long address never pushes the unit names off the poster.
    size, place = _fit(_nfc(_place(session, venue)), (12, 11, 10), False, 1)
    top.add(place, size)
    qr_top = top.y + quiet
    bottom = _Lines()
    bottom.y = qr_top + QR_WIDTH + quiet
    bottom.add([f"Mã địa điểm: {venue.code}"], 16, bold=True, colour=BLACK, after=2)
    for instruction in INSTRUCTIONS:
        bottom.add(wrap(instruction, 11, False), 11, after=0.5)
    bottom.add(wrap(url, 9, False), 9, colour=GREY)

    height = bottom.y
    if height > PAGE_HEIGHT - 2 * 6 and len(sizes) > 1:
        return layout(session, venue, url, name_sizes=sizes[2:] or sizes[-1:])
    # Centre the whole poster down the page.
    shift = max(6.0, (PAGE_HEIGHT - height) / 2)
    lines = tuple(
        TextLine(t.text, t.size, t.bold, t.baseline + shift, t.colour)
        for t in (*top.lines, *bottom.lines)
    )
    return Layout(
        title=f"Mã QR khai báo ra vào: {venue.name}",
        lines=lines,
        modules=modules,
        qr_left=(PAGE_WIDTH - QR_WIDTH) / 2,
        qr_top=qr_top + shift,
    )


def _runs(row: Sequence[bool]) -> list[tuple[int, int]]:
    """(first column, length) of each stretch of dark modules in a row."""
    runs, start = [], None
    for column, dark in enumerate((*row, False)):
        if dark and start is None:
            start = column
        elif not dark and start is not None:
            runs.append((start, column - start))
            start = None
    return runs


def render_pdf(poster: Layout) -> bytes:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    regular, bold = font_files()
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    pdf.set_title(poster.title)
    pdf.set_lang("vi")
    pdf.set_creator("phongdich")
    pdf.add_page()
    for line in poster.lines:
        pdf.set_font("DejaVu", "B" if line.bold else "", line.size)
        pdf.set_text_color(*line.colour)
        pdf.text((PAGE_WIDTH - pdf.get_string_width(line.text)) / 2, line.baseline, line.text)
    # One filled path for the whole symbol: separate rectangles would leave hairline seams
    # between neighbouring modules in some viewers.
    module = poster.module
    path = PaintedPath()
    path.style.fill_color = "#000000"
    path.style.stroke_color = None
    path.style.paint_rule = PathPaintRule.FILL_NONZERO
    for r, row in enumerate(poster.modules):
        for column, length in _runs(row):
            path.rectangle(
                poster.qr_left + column * module,
                poster.qr_top + r * module,
                length * module,
                module,
            )
    with pdf.drawing_context() as context:
        context.add_item(path)
    return bytes(pdf.output())


def render_png(poster: Layout) -> bytes:
    scale = PNG_DPI / 25.4  # pixels per mm
    image = Image.new("RGB", PNG_SIZE, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for line in poster.lines:
        font = _font(line.bold, round(line.size * PNG_DPI / 72))
        draw.text(
            (PNG_SIZE[0] / 2, line.baseline * scale),
            line.text,
            font=font,
            fill=line.colour,
            anchor="ms",
        )
    # Whole pixels per module keep the edges sharp; rounding down keeps the quiet zone clear.
    count = len(poster.modules)
    pixels = int(QR_WIDTH * scale) // count
    left = (PNG_SIZE[0] - pixels * count) // 2
    top = round((poster.qr_top + QR_WIDTH / 2) * scale - pixels * count / 2)
    for r, row in enumerate(poster.modules):
        for column, length in _runs(row):
            x, y = left + column * pixels, top + r * pixels
            draw.rectangle((x, y, x + length * pixels - 1, y + pixels - 1), fill=BLACK)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True, dpi=(PNG_DPI, PNG_DPI))
    return buffer.getvalue()


def poster_pdf(session: Session, venue: Venue, url: str) -> bytes:
    """A4 to print and put on the door; the QR holds `url`, the venue's check-in page."""
    return render_pdf(layout(session, venue, url))


def poster_png(session: Session, venue: Venue, url: str) -> bytes:
    """The same poster as an image, for a manager to send by chat or print at a copy shop."""
    return render_png(layout(session, venue, url))
