"""Bank-transfer invoices as PDF (fpdf2; DejaVu fonts ship in app/static/fonts so Cyrillic prints)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from app.i18n import gettext as _

FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"


@dataclass(frozen=True)
class InvoiceLine:
    name: str
    quantity: int
    price: str  # formatted in the shopper's locale
    total: str


@dataclass(frozen=True)
class Invoice:
    """Everything printed on the invoice, already translated and formatted."""

    number: str
    date: str
    store_name: str
    customer: str
    requisites: tuple[tuple[str, str], ...]  # (label, value)
    purpose: str
    lines: tuple[InvoiceLine, ...]
    total: str
    vat_note: str = ""


def invoice_pdf(invoice: Invoice, *, compress: bool = True) -> bytes:
    """One A4 page: who to pay, what for, the lines and the total."""
    pdf = FPDF(format="A4")
    pdf.set_compression(compress)
    pdf.add_font("DejaVu", "", FONTS / "DejaVuSans.ttf")
    pdf.add_font("DejaVu", "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.set_title(_("Invoice %(number)s", number=invoice.number))
    pdf.set_author(invoice.store_name)
    pdf.set_creator("AutoOffice")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(
        0,
        9,
        _("Invoice %(number)s of %(date)s", number=invoice.number, date=invoice.date),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("DejaVu", "", 10)
    pdf.ln(2)
    pdf.multi_cell(0, 6, _("Seller: %(name)s", name=invoice.store_name), new_x="LMARGIN", new_y="NEXT")
    if invoice.customer:
        pdf.multi_cell(0, 6, _("Buyer: %(name)s", name=invoice.customer), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    bold = FontFace(emphasis="BOLD")
    with pdf.table(col_widths=(45, 95), first_row_as_headings=False, line_height=6) as table:
        for label, value in invoice.requisites:
            row = table.row()
            row.cell(label, style=bold)
            row.cell(value)
    pdf.ln(4)
    with pdf.table(col_widths=(90, 20, 35, 35), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"), line_height=6) as table:
        head = table.row()
        for title in (_("Item"), _("Qty"), _("Price"), _("Sum")):
            head.cell(title)
        for line in invoice.lines:
            row = table.row()
            for value in (line.name, str(line.quantity), line.price, line.total):
                row.cell(value)
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 8, _("Total to pay: %(amount)s", amount=invoice.total), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    if invoice.vat_note:
        pdf.cell(0, 6, invoice.vat_note, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.multi_cell(0, 6, _("Payment purpose: %(purpose)s", purpose=invoice.purpose), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
