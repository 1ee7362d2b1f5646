"""Settlement flat files (V2 and legacy) read as a stream: memory flat in the file's size.

The problem: `parse_document` holds the whole file, its decoded text, a Row per line and then every record, which
for a 1M-row settlement is gigabytes. Ingest only needs the records one at a time, in file order, as long as they
are exactly the ones `parse_document` would give (same keys, SourceRefs, Decimals, ParseErrors) and nothing is
posted when a row further down is bad (ingest runs in one transaction, so raising late still posts nothing).

Two streaming passes over the file (gzip is decompressed on the fly, up to the two layers parse_document accepts):

1. `open_settlement_file`: sha256 of the raw bytes; the encoding, chosen exactly as text.decode would choose it
   for the whole file (text.EncodingDetector accumulates its evidence line by line); the format from the header;
   the decimal convention (the first row whose amount columns decide it, as decimal_convention does over all
   rows); and the first structural error read_table would raise (header lacking columns, a row whose column
   count differs from the header's). Because the encoding is only known at the end, the header/convention/error
   are followed for every encoding still possible; lines that are ASCII (all of them, in practice) are decoded
   once and shared.
2. `StreamedSettlementFile.records()`: decodes line by line and feeds Rows to the parsers' own `records`
   generators (settlement_v2.records / settlement_legacy.records), the very code parse_document runs. A
   structural error found in pass 1 is raised on the first next(), before any record, as parse_document raises
   it before returning anything. The raw bytes are hashed again and compared with pass 1 at the end, so a file
   that changed between the passes raises instead of yielding records that carry a wrong sha256.

Memory is bounded by one line plus the per-settlement state (summaries, ordinals, sums), not by the row count.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from ledger_service import limits
from ledger_service.sources.amazon import GZIP_MAGIC, detect_format, settlement_legacy, settlement_v2
from ledger_service.sources.amazon import text as tx
from ledger_service.sources.model import AmazonAmount, ParseError, SettlementSummary

__all__ = ["StreamedSettlementFile", "open_settlement_file"]

_LAYOUTS: dict[str, ModuleType] = {settlement_v2.FORMAT: settlement_v2, settlement_legacy.FORMAT: settlement_legacy}
_GZIP_LAYERS = 2  # as parse_document's _gunzip
_CHUNK = 1 << 16
_MAX_LINE_BYTES = 4 * settlement_v2.MAX_LINE  # UTF-8: at most 4 bytes a character


class _HashingReader(io.RawIOBase):
    """A raw file that hashes every byte read through it."""

    def __init__(self, raw: io.RawIOBase):
        self._raw = raw
        self.hash = hashlib.sha256()
        self.count = 0  # bytes read: the compressed size so far, for the ratio limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self.hash.update(memoryview(buffer)[:n])
            self.count += n
        return n


class _Source:
    """The file's content (gunzipped when it is gzip) as physical lines of bytes; hashes the raw bytes."""

    def __init__(self, path: Path, document: str):
        self.path, self.document = path, document

    def __enter__(self) -> _Source:
        self._file = open(self.path, "rb", buffering=0)  # noqa: SIM115 - closed in __exit__
        self._hashing = _HashingReader(self._file)
        self._raw = io.BufferedReader(self._hashing, _CHUNK)
        self._layers: list[gzip.GzipFile] = []
        stream: io.BufferedIOBase = self._raw
        try:
            for _ in range(_GZIP_LAYERS):
                if stream.peek(2)[:2] != GZIP_MAGIC:
                    break
                stream = gzip.GzipFile(fileobj=stream, mode="rb")
                self._layers.append(stream)
        except (OSError, EOFError, zlib.error) as exc:
            self.__exit__(None, None, None)
            raise self._corrupt(exc) from None
        self._stream = stream
        return self

    def __exit__(self, *exc_info) -> None:
        for layer in reversed(getattr(self, "_layers", [])):
            layer.close()
        self._file.close()

    def _corrupt(self, exc: BaseException) -> ParseError:
        return ParseError(self.document, None, f"corrupt gzip: {exc}")

    @property
    def compressed(self) -> bool:
        return bool(self._layers)

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """(1-based physical line, line without its b"\\n"); lines split on b"\\n" only, as text.tab_rows does.

        Bounded (limits.py): a line longer than any settlement row, or a gzip that expands beyond its size and
        ratio limits, is refused as soon as it is read, before it can fill memory."""
        number = total = 0
        try:
            while line := self._stream.readline(_MAX_LINE_BYTES + 1):
                number += 1
                if len(line) > _MAX_LINE_BYTES:
                    raise ParseError(self.document, number, f"line longer than {_MAX_LINE_BYTES:,} bytes: not a "
                                                            "settlement row")
                if self._layers:
                    total += len(line)
                    try:
                        limits.check_decompressed(total, self._hashing.count)
                    except ValueError as exc:
                        raise ParseError(self.document, number, str(exc)) from None
                yield number, line[:-1] if line.endswith(b"\n") else line
        except (OSError, EOFError, zlib.error) as exc:
            if not self.compressed:
                raise
            raise self._corrupt(exc) from None

    def sha256(self) -> str:
        """sha256 of the raw bytes, reading whatever is left after the content."""
        while self._raw.read(_CHUNK):
            pass
        return self._hashing.hash.hexdigest()


class _Survey:
    """What pass 1 learns from the file's lines as read in one candidate encoding."""

    def __init__(self, document: str):
        self.document = document
        self.format: str | None = None
        self.header: list[str] | None = None
        self.columns: tuple[str, ...] = ()
        self.decided = False
        self.decimal_comma: bool | None = None
        self.not_settlement = False  # JSON, an empty document, or a header that is no settlement header
        self.error: ParseError | None = None  # read_table's error (header, column count), in its order
        self.late_error: ParseError | None = None  # raised by parse after read_table succeeded

    @property
    def done(self) -> bool:
        return self.not_settlement or self.error is not None

    def feed(self, number: int, text: str) -> None:
        if self.done:
            return
        if self.format is None:
            self._header(number, text)
            return
        if not text.strip():
            return
        assert self.header is not None
        if text.count("\t") + 1 != len(self.header) or (self.columns and not self.decided):
            try:
                row = settlement_v2.table_row(self.header, tx.tab_row(number, text), self.document)
            except ParseError as exc:
                self.error = exc
                return
            if not self.decided and (comma := settlement_v2.decimal_convention([row], self.columns)) is not None:
                self.decided, self.decimal_comma = True, comma

    def _header(self, number: int, text: str) -> None:
        row = tx.tab_row(number, text)
        if row is None:
            return
        if text.lstrip().startswith(("{", "[")):  # JSON: a Finances page, not a flat file
            self.not_settlement = True
            return
        try:
            self.format = detect_format(row[1], self.document)
        except ParseError:
            self.not_settlement = True
            return
        if self.format not in _LAYOUTS:
            self.not_settlement = True
            return
        layout = _LAYOUTS[self.format]
        try:
            self.header = settlement_v2.read_header(row, self.document, layout.REQUIRED)
        except ParseError as exc:
            self.error = exc
            return
        try:
            self.columns = layout.convention_columns(self.header, self.document)
        except ParseError as exc:
            self.late_error = exc


class StreamedSettlementFile:
    """One settlement flat file, surveyed (pass 1) and ready to yield its records (pass 2) without holding them."""

    def __init__(self, path: Path, document: str, format: str, sha256: str, encoding: str,
                 decimal_comma: bool | None, error: ParseError | None):
        self.path, self.document, self.format, self.sha256 = path, document, format, sha256
        self.encoding, self.decimal_comma, self._error = encoding, decimal_comma, error
        self.warnings: list[str] = []  # complete once records() is exhausted
        self.rows = 0  # data rows; complete once records() is exhausted

    def records(self) -> Iterator[SettlementSummary | AmazonAmount]:
        """Every summary and amount in file order, == what parse_document gives; ParseError at the bad row."""
        if self._error is not None:
            raise ParseError(self._error.document, self._error.where, self._error.reason)
        layout = _LAYOUTS[self.format]
        settlements = settlement_v2.Settlements(self.document)
        with _Source(self.path, self.document) as source:
            rows = self._rows(source)
            header = settlement_v2.read_header(next(rows), self.document, layout.REQUIRED)
            table = (settlement_v2.table_row(header, row, self.document) for row in rows)
            yield from layout.records(table, header, settlements, self.document, self.sha256, self.decimal_comma)
            if source.sha256() != self.sha256:
                raise ParseError(self.document, None, "file changed while it was read (sha256 differs)")
        if not settlements.summaries:
            raise ParseError(self.document, None, "no summary row")
        self.rows, self.warnings = settlements.rows, settlements.warnings()

    def _rows(self, source: _Source) -> Iterator[tuple[int, str, list[str]]]:
        codec = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        for number, line in source.lines():
            try:
                text = line.decode(self.encoding if number == 1 else codec)
            except UnicodeDecodeError as exc:
                raise ParseError(self.document, number,
                                 f"cannot decode as {self.encoding} (file changed while it was read?): {exc.reason}"
                                 ) from None
            if (row := tx.tab_row(number, text)) is not None:
                yield row


def open_settlement_file(path: Path, document: str | None = None) -> StreamedSettlementFile | None:
    """Survey a settlement flat file (pass 1). None when it is not one (JSON, other, undecodable, empty), so the
    caller falls back to parse_document, which then raises or parses exactly as before.

    Never raises ParseError: a bad settlement file is raised from records(), at the point parse_document would
    have refused it (before any record for header / column-count errors, at the row for a bad row).
    """
    path = Path(path)
    document = document or path.name
    detector = tx.EncodingDetector()
    surveys = {encoding: _Survey(document) for encoding in tx.ENCODINGS}
    try:
        with _Source(path, document) as source:
            for number, line in source.lines():
                for encoding, text in detector.feed(line).items():
                    surveys[encoding].feed(number, text)
                live = [surveys[e] for e in tx.ENCODINGS if detector.valid[e]]
                if all(survey.not_settlement for survey in live):
                    return None  # JSON or another document: decided at its first line, whatever the encoding
            sha256 = source.sha256()
    except ParseError:  # corrupt gzip: parse_document reports it
        return None
    try:
        encoding = detector.encoding(document)
    except ParseError:
        return None
    survey = surveys[encoding]
    if survey.not_settlement or survey.format is None:
        return None
    return StreamedSettlementFile(path, document, survey.format, sha256, encoding, survey.decimal_comma,
                                  survey.error or survey.late_error)
