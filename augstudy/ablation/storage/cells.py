"""How the study folder's CSV files are read back: a file's text checked whole, then its cells parsed.

The one home of the cell parsers every reader uses (the report, the API, recovery, ``effects.csv``
rows): :func:`parse_float`, :func:`parse_int`, :func:`parse_number`, :func:`parse_bool`.  Cells are
written by :func:`augstudy.ablation.storage.schema.csv_cell`.  Pure standard library.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

#: texts read as True by :func:`parse_bool` (lower case; ``csv_cell`` writes ``True``), besides nonzero numbers
TRUE_TEXTS = ("true", "yes", "y", "t")


def parse_float(text: Any) -> float:
    """A CSV cell as a float: blank -> NaN, ``inf``/``-inf`` kept; ValueError on other text."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return math.nan
    return float(text)


def parse_int(text: Any) -> int | None:
    """A CSV cell as an int: blank -> None; ``>200`` -> 201 (past the limit); ``3.0`` -> 3."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, str) and text.strip().startswith(">"):
        return int(text.strip()[1:]) + 1
    value = float(text)
    if math.isnan(value):
        return None
    return int(value)


def parse_number(value: Any, finite: bool = False) -> float | None:
    """A cell (text or a pandas value) as a float to show; ``None`` for blanks, text and NaN (and for
    +-inf when ``finite``: an unbounded interval end is a number to show but not one to compare)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(out) or (finite and math.isinf(out)):
        return None
    return out


def parse_bool(value: Any) -> bool:
    """A cell or study.json value as a flag, never an error.

    True: ``True``, a nonzero number (``1``, ``1.0``, ``"1"``, ``"1.0"``: pandas reads a column of
    flags with blanks as floats) and the texts :data:`TRUE_TEXTS` in any case (``"True"`` is what
    :func:`~augstudy.ablation.storage.schema.csv_cell` writes).  False: ``False``, ``0``, blanks,
    ``None``, NaN and any other text."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (int, float)):
        return value == value and bool(value)  # NaN != NaN
    text = str(value).strip().lower()
    if text in TRUE_TEXTS:
        return True
    number = parse_number(text)
    return number is not None and number != 0


def read_csv_text(path: str | Path) -> str:
    """The whole text of one study CSV after checking its shape (every exported file is UTF-8, has a
    header and ends every line with a line end).  Raises ValueError, one line naming the file and
    line: undecodable bytes, an empty file, a last line without a line end (cut off mid-row), or a
    row whose field count differs from the header's."""
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ValueError(f"{path} line {line}: holds bytes that are not UTF-8 text (the file is damaged)") from None
    if not text.strip():
        raise ValueError(f"{path}: is empty, not even the header line is left (the file was cut off)")
    if not text.endswith("\n"):
        raise ValueError(f"{path} line {text.count(chr(10)) + 1}: ends without a line end (the file was cut off "
                         f"mid-row)")
    reader = csv.reader(io.StringIO(text))
    try:
        width = len(next(reader))
        for row in reader:
            if row and len(row) != width:
                raise ValueError(f"{path} line {reader.line_num}: has {len(row)} fields, the header has {width} "
                                 f"(the row is cut off or damaged)")
    except csv.Error as exc:
        raise ValueError(f"{path} line {reader.line_num}: not a readable CSV row ({exc})") from None
    return text


__all__ = ["parse_float", "parse_int", "parse_number", "parse_bool", "read_csv_text", "TRUE_TEXTS"]
