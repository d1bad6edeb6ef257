"""Text of each page of a PDF that headless Chromium printed, with where each piece sits.

Enough of PDF for Chromium's (Skia's) output and nothing more: objects, Flate streams, the page
tree, Type0 fonts with ToUnicode maps, and the text operators (Tf, Tm, Td, TD, T*, Tj, TJ, ').
No PDF library is installed and the test needs only which words are on which page and line.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

_OBJ = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_REF = rb"(\d+) 0 R"
_TOKEN = re.compile(
    rb"\s*(?:(?P<hex><[0-9A-Fa-f\s]*>)|(?P<str>\((?:\\.|[^\\)])*\))|(?P<arr>\[)|(?P<end>\])"
    rb"|(?P<name>/[^\s/<>\[\]()]+)|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+))|(?P<op>[A-Za-z'\"*]+)"
    rb"|(?P<dict><<|>>)|(?P<other>\S))"
)


@dataclass(frozen=True)
class Piece:
    """One run of text as drawn: its text, position (points, from the page's top left) and size."""

    text: str
    x: float
    y: float
    size: float
    end: float  # x where the next glyph would start


class PdfText:
    """Pages of a PDF as lists of text pieces, in page order."""

    def __init__(self, data: bytes) -> None:
        self.objects: dict[int, bytes] = {int(m[1]): m[2] for m in _OBJ.finditer(data)}
        self._cmaps: dict[int, dict[int, str]] = {}
        self._widths: dict[int, dict[int, float]] = {}
        self.heights: list[float] = []
        self.pages: list[list[Piece]] = [self._page(n) for n in self._page_numbers()]

    def lines(
        self, page: int, top: float = 0.0, bottom: float = float("inf"), tolerance: float = 1.0
    ) -> list[str]:
        """Text of a page line by line, top to bottom: glyphs on one baseline joined, with a
        space where the gap between two is wider than a fifth of the type size (cells). Only
        baselines between `top` and `bottom` (points from the top of the page) count."""
        rows: list[tuple[float, list[Piece]]] = []
        kept = [p for p in self.pages[page] if top <= p.y <= bottom]
        for piece in sorted(kept, key=lambda p: (p.y, p.x)):
            if rows and abs(rows[-1][0] - piece.y) <= tolerance:
                rows[-1][1].append(piece)
            else:
                rows.append((piece.y, [piece]))
        out = []
        for _, row in rows:
            text, end = "", None
            for p in sorted(row, key=lambda p: p.x):
                gap = end is not None and p.x - end > 0.2 * p.size
                text += (" " if gap and not text.endswith(" ") else "") + p.text
                end = p.end
            out.append(" ".join(text.split()))
        return out

    def _stream(self, num: int) -> bytes:
        body = self.objects[num]
        found = _STREAM.search(body)
        if found is None:
            return b""
        raw = found[1]
        return zlib.decompress(raw) if b"FlateDecode" in body[: found.start()] else raw

    def _page_numbers(self) -> list[int]:
        catalog = next(n for n, b in self.objects.items() if re.search(rb"/Type\s*/Catalog", b))
        root = re.search(rb"/Pages\s+" + _REF, self.objects[catalog])
        assert root is not None
        return self._kids(int(root[1]))

    def _kids(self, num: int) -> list[int]:
        body = self.objects[num]
        if re.search(rb"/Type\s*/Pages\b", body):
            kids = re.search(rb"/Kids\s*\[([^\]]*)\]", body)
            assert kids is not None
            return [p for k in re.findall(_REF, kids[1]) for p in self._kids(int(k))]
        return [num]

    def _resolve(self, body: bytes, key: bytes) -> bytes:
        """The value of `key` in a dictionary: an inline `<<...>>` or the object it refers to."""
        ref = re.search(rb"/" + key + rb"\s+" + _REF, body)
        if ref:
            return self.objects[int(ref[1])]
        inline = re.search(rb"/" + key + rb"\s*<<", body)
        if inline is None:
            return b""
        depth, i = 0, inline.end() - 2
        while i < len(body):
            if body[i : i + 2] == b"<<":
                depth, i = depth + 1, i + 2
            elif body[i : i + 2] == b">>":
                depth, i = depth - 1, i + 2
                if depth == 0:
                    return body[inline.end() - 2 : i]
            else:
                i += 1
        return b""

    def _cmap(self, font: int) -> dict[int, str]:
        if font not in self._cmaps:
            ref = re.search(rb"/ToUnicode\s+" + _REF, self.objects[font])
            table: dict[int, str] = {}
            if ref:
                text = self._stream(int(ref[1]))
                for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
                    for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                        table[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
                for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
                    for lo, hi, dst in re.findall(
                        rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
                    ):
                        start = int(dst, 16)
                        for k, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                            table[code] = chr(start + k)
            self._cmaps[font] = table
        return self._cmaps[font]

    def _width(self, font: int) -> dict[int, float]:
        """Glyph advance widths (thousandths of the type size) of a Type0 font's CIDFont."""
        if font not in self._widths:
            table: dict[int, float] = {}
            desc = re.search(rb"/DescendantFonts\s*\[\s*" + _REF, self.objects[font])
            cid = self.objects[int(desc[1])] if desc else b""
            found = re.search(rb"/W\s*\[(.*)\]", cid, re.S)
            items = re.findall(rb"\[[^\]]*\]|[-\d.]+", found[1]) if found else []
            i = 0
            while i < len(items):
                first = int(float(items[i]))
                if items[i + 1].startswith(b"["):
                    for k, w in enumerate(items[i + 1][1:-1].split()):
                        table[first + k] = float(w)
                    i += 2
                else:
                    for code in range(first, int(float(items[i + 1])) + 1):
                        table[code] = float(items[i + 2])
                    i += 3
            default = re.search(rb"/DW\s+([\d.]+)", cid)
            table[-1] = float(default[1]) if default else 1000.0
            self._widths[font] = table
        return self._widths[font]

    def _page(self, num: int) -> list[Piece]:
        body = self.objects[num]
        resources = self._resolve(body, b"Resources")
        fonts = {
            name.decode(): int(ref)
            for name, ref in re.findall(
                rb"/([^\s/<>]+)\s+" + _REF, self._resolve(resources, b"Font")
            )
        }
        box = re.search(rb"/MediaBox\s*\[\s*[-\d.]+\s+[-\d.]+\s+[-\d.]+\s+([-\d.]+)", body)
        height = float(box[1]) if box else 0.0
        self.heights.append(height)
        contents = re.search(rb"/Contents\s+" + _REF, body)
        refs = [int(contents[1])] if contents else []
        if not refs:
            listed = re.search(rb"/Contents\s*\[([^\]]*)\]", body)
            refs = [int(r) for r in re.findall(_REF, listed[1])] if listed else []
        stream = b"\n".join(self._stream(r) for r in refs)
        maps = {k: (self._cmap(v), self._width(v)) for k, v in fonts.items()}
        return _run(stream, maps, height)


def _mul(a: list[float], b: list[float]) -> list[float]:
    return [
        a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5],
    ]  # fmt: skip


def _codes(raw: bytes) -> list[int]:
    if raw.startswith(b"<"):
        digits = re.sub(rb"\s", b"", raw[1:-1]).decode()
        return [int(digits[i : i + 4], 16) for i in range(0, len(digits), 4)]
    return list(raw[1:-1])


Font = tuple[dict[int, str], dict[int, float]]


def _run(stream: bytes, fonts: dict[str, Font], height: float) -> list[Piece]:
    """Interpret the text operators of a content stream (graphics state: cm, q, Q)."""
    pieces: list[Piece] = []
    ctm = [1.0, 0, 0, 1, 0, 0]
    saved: list[list[float]] = []
    tm = [1.0, 0, 0, 1, 0, 0]
    line = tm
    cmap: dict[int, str] = {}
    widths: dict[int, float] = {-1: 1000.0}
    size = 0.0
    leading = 0.0
    operands: list[bytes] = []
    array: list[bytes] | None = None

    def show(codes: list[int]) -> None:
        nonlocal tm
        for code in codes:  # one piece per glyph; the text matrix moves by its advance
            m = _mul(tm, ctm)
            scale = abs(m[0]) or 1.0
            advance = widths.get(code, widths[-1]) / 1000 * size
            text = cmap.get(code, "")
            if text:
                x = m[4]
                pieces.append(Piece(text, x, height - m[5], size * scale, x + advance * scale))
            tm = _mul([1, 0, 0, 1, advance, 0], tm)

    for tok in _TOKEN.finditer(stream):
        kind, value = tok.lastgroup, tok[0].strip()
        if kind == "arr":
            array = []
        elif kind == "end":
            operands.append(b"[" + b"\x00".join(array or []) + b"]")
            array = None
        elif array is not None and kind in ("hex", "str", "num"):
            array.append(value)
        elif kind != "op":
            operands.append(value)
        else:
            op = value.decode()
            nums = [float(v) for v in operands if re.fullmatch(rb"[-+]?(?:\d+\.?\d*|\.\d+)", v)]
            if op == "cm" and len(nums) >= 6:
                ctm = _mul(nums[-6:], ctm)
            elif op == "q":
                saved.append(ctm)
            elif op == "Q" and saved:
                ctm = saved.pop()
            elif op == "BT":
                tm = line = [1.0, 0, 0, 1, 0, 0]
            elif op == "Tf" and operands:
                cmap, widths = fonts.get(operands[-2].lstrip(b"/").decode(), ({}, {-1: 1e3}))
                size = nums[-1] if nums else size
            elif op == "TL" and nums:
                leading = nums[-1]
            elif op == "Tm" and len(nums) >= 6:
                tm = line = nums[-6:]
            elif op in ("Td", "TD") and len(nums) >= 2:
                if op == "TD":
                    leading = -nums[-1]
                tm = line = _mul([1, 0, 0, 1, nums[-2], nums[-1]], line)
            elif op in ("T*", "'", '"'):
                tm = line = _mul([1, 0, 0, 1, 0, -leading], line)
            if op in ("Tj", "'", '"') and operands:
                show(_codes(operands[-1]))
            elif op == "TJ" and operands:
                for part in operands[-1][1:-1].split(b"\x00"):
                    if part[:1] in (b"<", b"("):
                        show(_codes(part))
                    elif part:
                        tm = _mul([1, 0, 0, 1, -float(part) / 1000 * size, 0], tm)
            operands = []
    return pieces
