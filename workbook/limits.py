"""The limits every input file is held to before a parser sees it (workbook.safety): sizes,
counts and ratios, each with the measurement that set it."""

from __future__ import annotations

import re

MiB = 1024 * 1024

# --- Limits -------------------------------------------------------------------------------------
# A filled opsbook workbook is about 45 KB on disk, 200 KB unpacked, 25 parts and 1,700 cells.
# The limits leave room for staff who paste data or pictures into extra sheets, and keep the
# worst file that passes them to roughly 0.5 GB of memory and seconds of parsing in openpyxl.

#: Largest input file. Mail services cap attachments at 20-25 MB, so a workbook that travels by
#: mail is smaller; the whole file is held in memory while it is checked and parsed.
MAX_FILE_BYTES = 20 * MiB
#: Most zip entries (parts). The template has 25; pictures and extra sheets add a few each.
MAX_ENTRIES = 1000
#: Largest zip central directory: bounds the work `zipfile` does before MAX_ENTRIES is checked,
#: whatever count the end record claims (1,000 entries with long names take under 200 KB).
MAX_DIRECTORY_BYTES = 1 * MiB
#: Largest unpacked worksheet or shared-strings part. openpyxl streams these, so their memory
#: cost is per cell (MAX_CELLS), not per byte: 50 MB holds about 1.5 million plain cells.
MAX_STREAMED_PART_BYTES = 50 * MiB
#: Largest unpacked size of any other part (workbook, styles, drawings, charts, comments...):
#: openpyxl builds a whole tree of these, about 25 times their size in memory (a 10 MB
#: styles.xml took 260 MB). Excel's own limit of 64,000 cell formats is about 4 MB of styles.
MAX_TREE_PART_BYTES = 8 * MiB
#: Largest unpacked total of all parts.
MAX_UNPACKED_BYTES = 100 * MiB
#: Largest compression ratio of a part bigger than RATIO_FLOOR_BYTES. Real worksheet XML
#: compresses 5-30 to 1; deflate's maximum is about 1032 to 1, where zip bombs sit.
MAX_RATIO = 200
RATIO_FLOOR_BYTES = 1 * MiB
#: Most cells openpyxl would create: <c> and <row> elements, every cell of a merged range
#: (openpyxl makes an object for each) and of the explicit ranges defined names point at (the
#: reader reads those cell by cell, which creates them). About 400 bytes and 9 microseconds
#: each in openpyxl: 500,000 cells take about 200 MB and 5 s.
MAX_CELLS = 500_000

CHUNK_BYTES = 64 * 1024  # one inflate step

#: Parts openpyxl parses as a stream rather than a whole tree (by their conventional names; a
#: part with another name gets the stricter MAX_TREE_PART_BYTES).
_STREAMED_PART = re.compile(r"xl/(?:worksheets/[^/]+\.xml|sharedStrings\.xml)\Z")
WORKSHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml\Z")


def part_limit(name: str) -> int:
    """The unpacked size allowed for one part."""
    return MAX_STREAMED_PART_BYTES if _STREAMED_PART.match(name) else MAX_TREE_PART_BYTES
