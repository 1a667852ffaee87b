"""Render a ``VerklaringDocument`` as an A4 PDF (reportlab; the QR code from segno drawn as vector squares).

Fonts are embedded TrueType: DejaVu Sans from Debian's ``fonts-dejavu-core`` when installed, else the Bitstream
Vera that reportlab ships (same metrics family), so every glyph of a Dutch name (ë, ï, é, ĳ) is in the file and
the PDF looks the same on any reader. The output is reproducible (``invariant``): the same verklaring gives the
same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import reportlab
import segno
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from registry.domein.verklaring_document import VerklaringDocument, datum_nl

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_VERA = Path(reportlab.__file__ or ".").parent / "fonts"
FONT, FONT_BOLD = "PrkSans", "PrkSans-Bold"


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    regular, bold = _DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"
    if not (regular.exists() and bold.exists()):
        regular, bold = _VERA / "Vera.ttf", _VERA / "VeraBd.ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


class QrCode(Flowable):  # type: ignore[misc]  # reportlab has no type hints
    """A QR code as filled squares (no raster image): sharp at any print size."""

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        self.qr = segno.make(data, error="m", micro=False)
        self.size = size
        self.width = self.height = size

    def draw(self) -> None:
        rows = [list(r) for r in self.qr.matrix_iter(scale=1, border=2)]
        n = len(rows)
        cell = self.size / n
        c = self.canv
        c.setFillColor(colors.black)
        for y, row in enumerate(rows):
            for x, dark in enumerate(row):
                if dark:
                    c.rect(x * cell, self.size - (y + 1) * cell, cell, cell, stroke=0, fill=1)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=10, leading=13.5)
    return {
        "base": base,
        "titel": ParagraphStyle("titel", parent=base, fontName=FONT_BOLD, fontSize=24, leading=29, spaceAfter=2),
        "sub": ParagraphStyle("sub", parent=base, fontSize=10.5, textColor=colors.HexColor("#333333")),
        "kop": ParagraphStyle(
            "kop", parent=base, fontName=FONT_BOLD, fontSize=12.5, leading=16, spaceBefore=10, spaceAfter=4
        ),
        "kerntaak": ParagraphStyle(
            "kerntaak", parent=base, fontName=FONT_BOLD, fontSize=10, spaceBefore=5, spaceAfter=2
        ),
        "klein": ParagraphStyle("klein", parent=base, fontSize=8.5, leading=11, textColor=colors.HexColor("#333333")),
        "rood": ParagraphStyle(
            "rood",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=13,
            textColor=colors.white,
            backColor=colors.HexColor("#b00020"),
            borderPadding=6,
            spaceBefore=6,
            spaceAfter=10,
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _footer(doc: VerklaringDocument) -> Any:
    def draw(canvas: Any, template: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.HexColor("#444444"))
        canvas.drawString(
            20 * mm, 12 * mm, f"Praktijkregister · praktijkverklaring {doc.korte_code} · echtheid: zie de QR-code"
        )
        canvas.drawRightString(A4[0] - 20 * mm, 12 * mm, f"pagina {canvas.getPageNumber()}")
        canvas.restoreState()

    return draw


def render(doc: VerklaringDocument) -> bytes:
    """The praktijkverklaring as PDF bytes (A4, embedded fonts, Dutch)."""
    _register_fonts()
    st = _styles()
    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=22 * mm,
        title=f"Praktijkverklaring {doc.korte_code}",
        author="Praktijkregister",
        creator="Praktijkregister",
        subject="Praktijkverklaring mbo (derde leerweg)",
        keywords=["praktijkverklaring", doc.verklaring_id],
        lang="nl-NL",
        invariant=1,
        displayDocTitle=1,
        initialFontName=FONT,
        initialFontSize=10,
    )
    story: list[Flowable] = [
        _p("Praktijkverklaring", st["titel"]),
        _p("Praktijkleren in het mbo (derde leerweg) · Praktijkregister", st["sub"]),
        Spacer(1, 6 * mm),
    ]
    if doc.ingetrokken_op is not None:
        story.append(
            _p(f"INGETROKKEN op {datum_nl(doc.ingetrokken_op)}: deze verklaring is niet meer geldig", st["rood"])
        )

    if doc.persoon is not None:
        naam = doc.persoon.naam
        geboren = datum_nl(doc.persoon.geboortedatum) if doc.persoon.geboortedatum else "niet aangeleverd"
    else:
        naam, geboren = "niet aangeleverd door de mbo-instelling", "niet aangeleverd"
    gegevens = [
        ("Naam deelnemer", naam),
        ("Geboortedatum", geboren),
        ("mbo-instelling", doc.instelling),
        ("Leerbedrijf", doc.leerbedrijf),
        (
            "Brancheorganisatie" + ("s" if len(doc.brancheorganisaties) > 1 else ""),
            ", ".join(doc.brancheorganisaties) or "-",
        ),
        ("Datum van uitgifte", datum_nl(doc.uitgegeven_op)),
        *((("Ondertekend op", datum_nl(doc.ondertekend_op)),) if doc.ondertekend_op else ()),
        ("Volgnummer", str(doc.volgnummer) if doc.volgnummer is not None else "-"),
        ("Verklaringnummer", doc.verklaring_id),
    ]
    tabel = Table([[_p(k, st["klein"]), _p(v, st["base"])] for k, v in gegevens], colWidths=[42 * mm, 128 * mm])
    tabel.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    story += [
        tabel,
        Spacer(1, 4 * mm),
        _p(
            "De deelnemer heeft de onderstaande werkprocessen in de beroepspraktijk aangetoond bij een erkend "
            "leerbedrijf, beoordeeld volgens het kwalificatiedossier.",
            st["base"],
        ),
    ]

    for k in doc.kwalificaties:
        niveau = f", niveau {k.niveau}" if k.niveau is not None else ""
        story.append(_p(f"{k.naam} (crebo {k.crebo}{niveau})", st["kop"]))
        for kt in k.kerntaken:
            story.append(_p(f"Kerntaak {kt.code}: {kt.naam}" if kt.code != "-" else kt.naam, st["kerntaak"]))
            wp = Table(
                [[_p(w.code, st["klein"]), _p(w.naam, st["base"])] for w in kt.werkprocessen],
                colWidths=[30 * mm, 140 * mm],
            )
            wp.setStyle(
                TableStyle(
                    [
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                    ]
                )
            )
            story.append(wp)

    handtekening = Table(
        [
            [_p("Praktijkopleider (leerbedrijf)", st["kerntaak"]), _p("Namens de mbo-instelling", st["kerntaak"])],
            [
                _p("Naam: ____________________________", st["base"]),
                _p("Naam: ____________________________", st["base"]),
            ],
            [
                _p("Datum: ___________________________", st["base"]),
                _p("Datum: ___________________________", st["base"]),
            ],
            [_p("Handtekening:", st["base"]), _p("Handtekening:", st["base"])],
            [Spacer(1, 16 * mm), Spacer(1, 16 * mm)],
        ],
        colWidths=[85 * mm, 85 * mm],
    )
    handtekening.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (0, -1), 0.5, colors.HexColor("#888888")),
                ("BOX", (1, 0), (1, -1), 0.5, colors.HexColor("#888888")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    controle = Table(
        [
            [
                QrCode(doc.verificatie_url, 30 * mm),
                [
                    _p("Echt of niet? Scan de code of ga naar", st["klein"]),
                    _p(doc.verificatie_url, st["klein"]),
                    Spacer(1, 2 * mm),
                    _p(f"Code: {doc.korte_code}", st["kerntaak"]),
                    _p(
                        "De verificatiepagina toont of de verklaring geldig of ingetrokken is, zonder persoonsgegevens. "
                        "De ondertekende digitale versie (Open Badges 3.0) levert de mbo-instelling op verzoek.",
                        st["klein"],
                    ),
                ],
            ]
        ],
        colWidths=[36 * mm, 134 * mm],
    )
    controle.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [
        Spacer(1, 6 * mm),
        KeepTogether([_p("Ondertekening", st["kop"]), handtekening]),
        Spacer(1, 6 * mm),
        KeepTogether([controle]),
    ]
    footer = _footer(doc)
    template.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
