"""Amazon documents -> canonical records, choosing the parser from the content.

The problem: the same ingest path receives settlement flat files (V2 and legacy), SP-API Finances v0 pages and
Finances 2024-06-19 pages, sometimes gzip-compressed, under whatever file name a person or a job gave them. The
name is not evidence, the bytes are: gzip by its magic number, JSON by its first character, a flat file by its
header row (amount-type means V2, price-type/price-amount means legacy).

`parse_document` does no I/O beyond the bytes it is given. Keyword arguments reach the chosen parser, e.g.
`group_id=` and `group_final=` for a Finances v0 listFinancialEvents page, which cannot know its group itself.
"""

from __future__ import annotations

import hashlib
import zlib

from ledger_service import limits
from ledger_service.sources.amazon import finances_2024, finances_v0, settlement_legacy, settlement_v2
from ledger_service.sources.amazon import text as tx
from ledger_service.sources.model import ParsedDocument, ParseError

__all__ = ["parse_document", "detect_format"]

GZIP_MAGIC = b"\x1f\x8b"
_V0_KEYS = ("FinancialEvents", "FinancialEventGroupList")
_2024_KEYS = ("transactions", "balances", "summaries")


def _gunzip(data: bytes, document: str) -> bytes:
    # Layered compression happens (a .gz of a .gz); two levels is plenty and bounds the work.
    for _ in range(2):
        if not data.startswith(GZIP_MAGIC):
            return data
        data = _bounded_gunzip(data, document)
    return data


def _bounded_gunzip(data: bytes, document: str) -> bytes:
    """gzip.decompress that stops at limits.py's size and ratio instead of filling memory (a few KB of gzip can
    expand without bound). Concatenated members are read one after another, as gzip.decompress does."""
    limit = min(limits.MAX_DECOMPRESSED_BYTES,
                max(limits.MIN_RATIO_CHECK_BYTES, limits.MAX_COMPRESSION_RATIO * len(data)))
    out, rest = [], data
    try:
        while rest:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out.append(inflater.decompress(rest, limit + 1 - sum(map(len, out))))
            if inflater.unconsumed_tail or sum(map(len, out)) > limit:
                raise ParseError(document, None, f"decompresses to more than {limit:,} bytes "
                                 f"({limits.MAX_COMPRESSION_RATIO}x its {len(data):,} bytes, at most "
                                 f"{limits.MAX_DECOMPRESSED_BYTES >> 30} GiB): refused")
            if not inflater.eof:
                raise ParseError(document, None, "corrupt gzip: the compressed data ends early")
            rest = inflater.unused_data.lstrip(b"\0")  # members may be padded with NULs
    except zlib.error as exc:
        raise ParseError(document, None, f"corrupt gzip: {exc}") from None
    return b"".join(out)


def detect_format(text: str, document: str) -> str:
    """settlement-v2 | settlement-legacy | finances-v0 | finances-2024, from decoded content."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        obj = finances_v0.load(stripped.encode(), document)
        if not isinstance(obj, dict):
            raise ParseError(document, None, "JSON document is not an object")
        payload, _ = finances_v0.unwrap(obj, document)
        if any(key in payload for key in _V0_KEYS):
            return "finances-v0"
        if any(key in payload for key in _2024_KEYS):
            return "finances-2024"
        raise ParseError(document, None, "JSON is not an SP-API Finances page (no FinancialEvents, "
                                         "FinancialEventGroupList, transactions, balances or summaries)")
    rows = tx.tab_rows(text)
    if not rows:
        raise ParseError(document, None, "empty document")
    header = {cell.lower() for cell in rows[0][2]}
    if "settlement-id" not in header:
        raise ParseError(document, rows[0][0], "not a settlement flat file: header has no settlement-id")
    if "amount-type" in header:
        return "settlement-v2"
    if header & set(settlement_legacy.AMOUNT_NAMES):
        return "settlement-legacy"
    raise ParseError(document, rows[0][0], "settlement header has neither amount-type nor legacy money columns")


def parse_document(data: bytes, document: str, **kwargs) -> ParsedDocument:
    """Bytes of one Amazon document -> ParsedDocument. sha256 is of the bytes as given (compressed or not)."""
    sha256 = hashlib.sha256(data).hexdigest()
    content = _gunzip(data, document)
    text = tx.decode(content, document)
    fmt = detect_format(text, document)
    if fmt == "settlement-v2":
        return settlement_v2.parse(content, document, sha256=sha256, text=text)
    if fmt == "settlement-legacy":
        return settlement_legacy.parse(content, document, sha256=sha256, text=text)
    obj = finances_v0.load(text.encode(), document)
    if fmt == "finances-v0":
        return finances_v0.parse(obj, document, sha256=sha256, **kwargs)
    return finances_2024.parse(obj, document, sha256=sha256, **kwargs)
