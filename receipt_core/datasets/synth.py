"""Synthetic receipts: rendered with Pillow, read back by Tesseract, labelled by box overlap.

Each receipt is drawn token by token, so every rendered token has a known box and gold labels (field,
quantity word and value, item group). The picture is then degraded (paper tint, mild rotation, blur,
pixel noise, JPEG) and OCR'd through the same path as an upload (:func:`load_image` then
:func:`ocr_image`); each OCR word takes the labels of the rendered token it overlaps most. Generated data
therefore looks to the model exactly like an uploaded photo's OCR.

The amounts add up: line price = quantity × unit price; subtotal = sum of line prices; total = subtotal −
discount + service + tax; change = cash − total. They are kept in ``document.meta["receipt"]`` (minor
currency units, e.g. cents) so tests and users can check them. Everything is drawn from
``random.Random(seed)``: the same seed gives the same receipts, images and OCR.
"""

from __future__ import annotations

import io
import math
import os
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ..data.boxes import intersection_area
from ..data.document import Document, Word
from ..data.images import load_image
from ..ocr.engine import RECEIPT_OCR, OcrSettings, ocr_image
from ..data.schema import OTHER

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))
# Receipt printers are mostly monospaced; proportional and condensed faces add variety.
FONT_FILES = ("DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "LiberationMono-Regular.ttf",
              "LiberationMono-Bold.ttf", "DejaVuSans.ttf", "DejaVuSansCondensed.ttf",
              "LiberationSans-Regular.ttf", "LiberationSansNarrow-Regular.ttf", "DejaVuSerif.ttf")

STORES = ("FRESH MART", "CAFE LUNA", "GOLDEN WOK", "CORNER BAKERY", "GREEN GROCER", "BURGER HUT",
          "SUSHI ZEN", "PIZZA NAPOLI", "DAILY DELI", "KOPI KENANGAN", "MEGA STORE", "THE TEA HOUSE",
          "NOODLE BAR", "CITY PHARMACY", "BREW & BEAN", "TACO LOCO")
STREETS = ("Main St", "Oak Ave", "Jl. Sudirman", "High Street", "Market Rd", "River Lane", "Station Sq")
ITEM_WORDS = ("CHICKEN", "RICE", "NOODLE", "COFFEE", "LATTE", "TEA", "ICED", "HOT", "BEEF", "BURGER", "FRIES",
              "SALAD", "SOUP", "CHEESE", "CAKE", "BREAD", "MILK", "WATER", "SODA", "ORANGE", "APPLE", "JUICE",
              "EGG", "TOFU", "FRIED", "SPICY", "GRILLED", "MINI", "LARGE", "DONUT", "PASTA", "PIZZA", "TUNA",
              "MANGO", "CHOCO", "VANILLA", "BAGEL", "WRAP", "SAUCE", "COOKIE", "BANANA", "YOGURT", "GREEN")
QUANTITY_STYLES = ("plain", "x-after", "x-before", "pcs", "absent")
LAYOUTS = ("qty-first", "qty-after-name", "two-line")


@dataclass(frozen=True)
class Token:
    """A rendered word with its gold labels; box in pixels of the final (rotated) image."""

    text: str
    field: str = OTHER
    is_quantity: bool = False
    quantity_value: float | None = None
    group_id: int | None = None


@dataclass(frozen=True)
class Line:
    left: tuple[Token, ...] = ()
    middle: tuple[Token, ...] = ()  # starts at the quantity/unit-price column
    right: tuple[Token, ...] = ()  # right-aligned
    center: bool = False  # the left tokens are centred (headers)


@dataclass(frozen=True)
class SyntheticReceipt:
    document: Document  # Tesseract's words with gold labels attached by box overlap
    image_bytes: bytes
    image_format: str
    rendered: tuple[Word, ...] = field(default=(), repr=False)  # the drawn tokens, gold labels, final boxes


@dataclass(frozen=True)
class Money:
    decimals: int  # 2 for "12.50", 0 for "12,500"
    prefix: str  # "" or "$"

    def format(self, minor: int) -> str:
        sign = "-" if minor < 0 else ""
        value = abs(minor)
        if self.decimals:
            text = f"{value // 100}.{value % 100:02d}"
        else:
            text = f"{value:,}"
        return f"{sign}{self.prefix}{text}"


def available_fonts() -> list[Path]:
    """The receipt fonts installed here (DejaVu and Liberation on Debian), in preference order."""
    return [d / name for name in FONT_FILES for d in FONT_DIRS if (d / name).exists()]


def _load_font(rng: random.Random, size: int) -> tuple[ImageFont.FreeTypeFont, str]:
    fonts = available_fonts()
    if not fonts:
        # Pillow's bundled font keeps generation working, but every receipt then looks alike.
        return ImageFont.load_default(size), "pillow-default (install fonts-dejavu-core for variety)"
    path = rng.choice(fonts)
    return ImageFont.truetype(str(path), size), path.name


# --- content -------------------------------------------------------------------------------------------


def _quantity_tokens(rng: random.Random, quantity: int, style: str, group: int) -> tuple[Token, ...]:
    def qty(text: str) -> Token:
        return Token(text, OTHER, True, float(quantity), group)

    if style == "plain":
        return (qty(str(quantity)),)
    if style == "x-after":
        return (qty(f"{quantity}{rng.choice('xX')}"),)
    if style == "x-before":
        return (qty(f"{rng.choice('xX')}{quantity}"),)
    if style == "pcs":
        return qty(str(quantity)), qty(rng.choice(("PCS", "pcs", "Pcs")))
    return ()


def _item_lines(rng: random.Random, money: Money, group: int, width_chars: int) -> tuple[list[Line], dict]:
    quantity = rng.choices((1, 2, 3, 4, 5, 6, 10, 12), weights=(40, 22, 12, 8, 6, 4, 2, 2))[0]
    unit = rng.randint(50, 2500) * (5 if money.decimals else 500)
    price = unit * quantity
    style = rng.choice(QUANTITY_STYLES)
    if style == "absent" and quantity != 1:
        style = "plain"
    name_words = [rng.choice(ITEM_WORDS) for _ in range(rng.randint(1, 3))]
    name_words = _fit(name_words, width_chars - 20)
    name = tuple(Token(w, "ITEM_NAME", group_id=group) for w in name_words)
    qty_tokens = _quantity_tokens(rng, quantity, style, group)
    unit_token = Token(money.format(unit), "ITEM_UNIT_PRICE", group_id=group)
    price_token = (Token(money.format(price), "ITEM_PRICE", group_id=group),)
    layout = rng.choice(LAYOUTS)
    if layout == "qty-first":
        lines = [Line(left=qty_tokens + name, right=price_token)]
    elif layout == "qty-after-name":
        middle = qty_tokens + ((Token("@"), unit_token) if qty_tokens and rng.random() < 0.5 else ())
        lines = [Line(left=name, middle=middle, right=price_token)]
    else:
        at = (Token(rng.choice(("x", "@", "X"))),) if qty_tokens else ()
        lines = [Line(left=name), Line(left=qty_tokens + at + (unit_token,), right=price_token)]
    item = {"name": " ".join(name_words), "quantity": quantity, "unit_price": unit, "price": price,
            "group_id": group, "quantity_style": style}
    return lines, item


def _fit(words: list[str], max_chars: int) -> list[str]:
    while len(words) > 1 and len(" ".join(words)) > max_chars:
        words = words[:-1]
    return words


def _summary_line(key_words: Sequence[str], field_name: str, amount: str) -> Line:
    return Line(left=tuple(Token(w, field_name) for w in key_words), right=(Token(amount, field_name),))


def _receipt_content(rng: random.Random, width_chars: int) -> tuple[list[Line], dict]:
    money = rng.choice((Money(2, ""), Money(2, "$"), Money(0, "")))
    store = rng.choice(STORES)
    lines = [Line(left=tuple(Token(w) for w in store.split()), center=True),
             Line(left=tuple(Token(w) for w in f"{rng.randint(1, 999)} {rng.choice(STREETS)}".split()), center=True),
             Line(left=(Token("Tel"), Token(f"{rng.randint(100, 999)}-{rng.randint(1000, 9999)}")), center=True),
             Line(),
             Line(left=(Token(f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/20{rng.randint(19, 26)}"),),
                  right=(Token(f"{rng.randint(7, 22):02d}:{rng.randint(0, 59):02d}"),)),
             Line(left=(Token("Cashier:"), Token(rng.choice(("ANNA", "BUDI", "JOHN", "MEI", "SAM")))),
                  right=(Token(f"#{rng.randint(1000, 99999)}"),)),
             Line(left=(Token("-" * width_chars),))]
    items = []
    for group in range(rng.randint(2, 25)):
        item_lines, item = _item_lines(rng, money, group, width_chars)
        lines += item_lines
        items.append(item)
    lines.append(Line(left=(Token("-" * width_chars),)))

    subtotal = sum(item["price"] for item in items)
    step = 1 if money.decimals else 100  # round amounts to what the currency prints
    discount = service = tax = 0
    lines.append(_summary_line(rng.choice((("SUBTOTAL",), ("Sub", "Total"), ("SUB-TOTAL",))), "SUBTOTAL",
                               money.format(subtotal)))
    if rng.random() < 0.3:
        pct = rng.choice((5, 10, 15, 20))
        discount = round(subtotal * pct / 100 / step) * step
        lines.append(_summary_line(("DISCOUNT", f"{pct}%"), "DISCOUNT", money.format(-discount)))
    if rng.random() < 0.35:
        pct = rng.choice((5, 10))
        service = round((subtotal - discount) * pct / 100 / step) * step
        lines.append(_summary_line(("SERVICE", f"{pct}%"), "SERVICE", money.format(service)))
    if rng.random() < 0.8:
        pct = rng.choice((6, 8, 10, 11))
        tax = round((subtotal - discount + service) * pct / 100 / step) * step
        lines.append(_summary_line((rng.choice(("TAX", "VAT", "PB1")), f"{pct}%"), "TAX", money.format(tax)))
    total = subtotal - discount + service + tax
    lines.append(_summary_line(("TOTAL",), "TOTAL", money.format(total)))
    note = 1000 if money.decimals else 10_000
    cash = total if rng.random() < 0.2 else (total // note + rng.randint(1, 3)) * note
    lines.append(_summary_line((rng.choice(("CASH", "TUNAI", "Cash")),), "PAYMENT", money.format(cash)))
    lines.append(_summary_line(("CHANGE",), "CHANGE", money.format(cash - total)))
    lines += [Line(), Line(left=tuple(Token(w) for w in rng.choice(
        ("THANK YOU", "THANK YOU COME AGAIN", "TERIMA KASIH", "HAVE A NICE DAY")).split()), center=True)]
    receipt = {"currency_decimals": money.decimals, "items": items, "subtotal": subtotal, "discount": discount,
               "service": service, "tax": tax, "total": total, "cash": cash, "change": cash - total,
               "store": store}
    return lines, receipt


# --- rendering -----------------------------------------------------------------------------------------


def _render(rng: random.Random, lines: list[Line], width_chars: int,
            font: ImageFont.FreeTypeFont) -> tuple[Image.Image, list[tuple[Token, tuple[float, float, float, float]]]]:
    char_width = font.getlength("0")
    space = font.getlength(" ")
    size = font.size
    line_height = round(size * rng.uniform(1.3, 1.6))
    margin = rng.randint(20, 50)
    width = round(margin * 2 + char_width * width_chars)
    height = margin * 2 + line_height * len(lines)
    paper = rng.randint(232, 255)
    ink = rng.randint(0, 70)
    image = Image.new("L", (width, height), paper)
    draw = ImageDraw.Draw(image)
    placed: list[tuple[Token, tuple[float, float, float, float]]] = []
    middle_x = margin + char_width * round(width_chars * 0.55)

    def draw_run(tokens: Sequence[Token], x: float, y: float) -> None:
        for token in tokens:
            draw.text((x, y), token.text, font=font, fill=ink)
            if token.text.strip("-"):  # separator rules are not words
                placed.append((token, draw.textbbox((x, y), token.text, font=font)))
            x += font.getlength(token.text) + space

    def run_length(tokens: Sequence[Token]) -> float:
        return sum(font.getlength(t.text) for t in tokens) + space * max(len(tokens) - 1, 0)

    for row, line in enumerate(lines):
        y = margin + row * line_height
        if line.center:
            draw_run(line.left, (width - run_length(line.left)) / 2, y)
            continue
        if line.left and line.left[0].text.startswith("---"):  # a rule across the paper, whatever the font
            rule = "-" * int((width - 2 * margin) / max(font.getlength("-"), 1.0))
            draw.text((margin, y), rule, font=font, fill=ink)
            continue
        draw_run(line.left, margin, y)
        draw_run(line.middle, middle_x, y)
        draw_run(line.right, width - margin - run_length(line.right), y)
    return image, placed


def _degrade(rng: random.Random, image: Image.Image,
             placed: list[tuple[Token, tuple[float, float, float, float]]]) -> tuple[bytes, list[Word]]:
    """Rotate (boxes follow), blur, add noise, and encode as JPEG; returns the bytes and the final token boxes."""
    angle = rng.uniform(-1.5, 1.5)
    width, height = image.size
    paper = image.getpixel((0, 0))
    rotated = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=paper)
    words = [Word(text=t.text, box=_rotate_box(box, angle, (width, height), rotated.size), field=t.field,
                  is_quantity=t.is_quantity, quantity_value=t.quantity_value, group_id=t.group_id)
             for t, box in placed]
    blurred = rotated.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 0.8)))
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(0, 8), size=(blurred.height, blurred.width))
    noisy = Image.fromarray(np.clip(np.asarray(blurred, dtype=np.float32) + noise, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    noisy.save(buffer, format="JPEG", quality=rng.randint(55, 92))
    return buffer.getvalue(), words


def _rotate_box(box, angle: float, old_size: tuple[int, int], new_size: tuple[int, int]):
    """The axis-aligned bounds of ``box`` after PIL's counter-clockwise ``rotate(angle, expand=True)``."""
    radians = math.radians(angle)
    cos, sin = math.cos(radians), math.sin(radians)
    ocx, ocy = old_size[0] / 2, old_size[1] / 2
    ncx, ncy = new_size[0] / 2, new_size[1] / 2
    x0, y0, x1, y1 = box
    xs, ys = [], []
    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1)):
        dx, dy = x - ocx, y - ocy
        xs.append(ncx + dx * cos + dy * sin)
        ys.append(ncy - dx * sin + dy * cos)
    return (max(0.0, min(xs)), max(0.0, min(ys)), min(float(new_size[0]), max(xs)), min(float(new_size[1]), max(ys)))


# --- labels by overlap ---------------------------------------------------------------------------------


def attach_labels(ocr_words: Sequence[Word], rendered: Sequence[Word], min_cover: float = 0.3) -> list[Word]:
    """Each OCR word takes the labels of the rendered token it overlaps most (if that covers ``min_cover``
    of the OCR word's box); OCR words over nothing rendered (noise, separators) are ``OTHER``."""
    labelled = []
    for word in ocr_words:
        area = max((word.box[2] - word.box[0]) * (word.box[3] - word.box[1]), 1.0)
        best, best_overlap = None, 0.0
        for token in rendered:
            overlap = intersection_area(word.box, token.box)
            if overlap > best_overlap:
                best, best_overlap = token, overlap
        if best is not None and best_overlap / area >= min_cover:
            word = Word(text=word.text, box=word.box, confidence=word.confidence, line_id=word.line_id,
                        field=best.field, is_quantity=best.is_quantity, quantity_value=best.quantity_value,
                        group_id=best.group_id)
        labelled.append(word)
    return labelled


# --- public API ----------------------------------------------------------------------------------------


def synth_id(seed: int, index: int) -> str:
    """The document id of generated receipt ``index`` of ``seed``: the same receipt always has the same id."""
    return f"synth-{seed}-{index:05d}"


def generate_receipt(seed: int, index: int = 0, settings: OcrSettings = RECEIPT_OCR) -> SyntheticReceipt:
    """One synthetic receipt; the same (seed, index) always gives the same receipt, image and OCR."""
    rng = random.Random(seed * 1_000_003 + index)
    width_chars = rng.randint(32, 46)
    font, font_name = _load_font(rng, rng.randint(18, 28))
    lines, receipt = _receipt_content(rng, width_chars)
    image, placed = _render(rng, lines, width_chars, font)
    image_bytes, rendered = _degrade(rng, image, placed)
    loaded = load_image(image_bytes, f"synth-{seed}-{index}.jpg")
    doc_id = synth_id(seed, index)
    ocr = ocr_image(loaded, settings, doc_id=doc_id, source=f"synth:seed={seed}")
    meta = dict(ocr.meta, receipt=receipt, font=font_name)
    document = Document(id=doc_id, width=ocr.width, height=ocr.height, words=tuple(attach_labels(ocr.words, rendered)),
                        image_sha256=ocr.image_sha256, source=ocr.source, meta=meta).as_imported()
    return SyntheticReceipt(document=document, image_bytes=image_bytes, image_format="JPEG",
                            rendered=tuple(rendered))


def _generate_job(seed: int, index: int) -> SyntheticReceipt:
    return generate_receipt(seed, index)


MAX_GENERATED = 10_000  # receipts one call generates (about a second each per core): more is a typo, not a plan


def check_count(count: int) -> None:
    """ValueError unless ``count`` receipts may be generated in one call (0 to :data:`MAX_GENERATED`)."""
    if not 0 <= count <= MAX_GENERATED:
        raise ValueError(f"count must be 0 to {MAX_GENERATED:,} receipts, got {count:,}")


def generate_dataset(count: int, seed: int = 0, progress: Callable[[int, int], None] | None = None,
                     workers: int | None = None) -> list[SyntheticReceipt]:
    """``count`` receipts in index order (:func:`generate_receipts` over indexes 0 … count − 1)."""
    check_count(count)
    return generate_receipts(seed, range(count), progress=progress, workers=workers)


def generate_receipts(seed: int, indexes: Sequence[int], progress: Callable[[int, int], None] | None = None,
                      workers: int | None = None) -> list[SyntheticReceipt]:
    """The receipts ``indexes`` of ``seed``, in that order, rendered and OCR'd in parallel processes (all cores
    by default); ``progress(done, total)`` after each.

    Worker processes are *spawned* (safe next to Streamlit's and torch's threads, unlike fork), so a plain
    script calling this with ``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard.
    """
    indexes = list(indexes)
    if len(indexes) > MAX_GENERATED or any(not 0 <= index < MAX_GENERATED for index in indexes):
        raise ValueError(f"receipt indexes must be 0 to {MAX_GENERATED - 1:,}, at most {MAX_GENERATED:,} of them")
    total = len(indexes)
    workers = max(1, min(workers or os.cpu_count() or 1, total or 1))
    receipts: list[SyntheticReceipt] = []
    if workers == 1:
        for index in indexes:
            receipts.append(generate_receipt(seed, index))
            if progress:
                progress(len(receipts), total)
        return receipts
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_generate_job, seed, index) for index in indexes]
        for future in futures:
            receipts.append(future.result())
            if progress:
                progress(len(receipts), total)
    return receipts
