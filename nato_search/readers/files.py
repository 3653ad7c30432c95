"""Bytes and text of source files, with errors that name the file."""

from __future__ import annotations

import os
from pathlib import Path

from nato_search.errors import CorpusError


def shown(path: Path) -> str:
    """``path`` for a message: bytes of a non-UTF-8 file name as ``\\xe9``, so printing never fails."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def read_bytes(path: Path) -> bytes:
    """A source file's bytes; an OS error is a CorpusError naming the file."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{shown(path)}: cannot read it ({exc.strerror or exc})") from None


def utf8_text(path: Path, data: bytes) -> str:
    """``data`` as UTF-8 (a byte-order mark dropped); anything else is a CorpusError."""
    if b"\x00" in data:
        raise CorpusError(f"{shown(path)}: a binary file (it holds NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{shown(path)}: not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); convert it to UTF-8, e.g. with `iconv -f latin1 -t utf-8`"
        ) from None


def guessed_text(path: Path, data: bytes) -> tuple[str, str]:
    """``data`` decoded as UTF-8 (with or without a byte-order mark), else as Windows-1252,
    the two encodings French spreadsheets and exports come in; with the encoding's name.

    Windows-1252 decodes almost any bytes, so UTF-8 is tried first: a UTF-8 file is
    never misread, and a Windows-1252 file with accents is never valid UTF-8 (``é`` is
    the lone byte 0xE9 there).
    """
    if b"\x00" in data:
        raise CorpusError(f"{shown(path)}: a binary file (it holds NUL bytes), not text")
    if data.startswith(b"\xef\xbb\xbf"):  # says UTF-8: anything else is an error, not lost text
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise CorpusError(
                f"{shown(path)}: starts with a UTF-8 byte-order mark but is not UTF-8 (byte "
                f"0x{data[3 + exc.start]:02x} at offset {3 + exc.start})"
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:  # the five bytes cp1252 leaves undefined
        raise CorpusError(
            f"{shown(path)}: neither UTF-8 nor Windows-1252 text (byte 0x{data[exc.start]:02x} "
            f"at offset {exc.start})"
        ) from None
