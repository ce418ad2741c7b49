"""What a summary was made from: custom document properties recorded in every docx opsbook writes.

A batch run again over an inbox needs to know, for a summary that already exists, whether opsbook
wrote it from the workbook as it is now (up to date), from an earlier version of the workbook
(rewrite it), or whether somebody edited it by hand since (keep it). The docx records:

- `opsbook_source_sha256`, `opsbook_source_size`, `opsbook_source_mtime`: the workbook it was
  made from (the attachment's bytes for an .eml);
- `opsbook_version`: the opsbook that wrote it;
- `opsbook_body_sha256`: a hash of `word/document.xml` as written. Word, WPS and LibreOffice
  rewrite that part on every save (and keep custom properties), so a different hash means the
  summary was saved by another program since: edited by hand.

The properties are a `docProps/custom.xml` part (the package's custom-properties relationship),
which Word shows under File > Properties > Custom. docs/rollup.md, "Running a batch again".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lxml import etree

CUSTOM_PART = "docProps/custom.xml"
BODY_PART = "word/document.xml"
CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
CUSTOM_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
CUSTOM_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"  # the one every custom property uses
PREFIX = "opsbook_"
# A summary is small; anything larger than this is not one opsbook wrote.
MAX_PART = 64 * 1024 * 1024

State = Literal["missing", "current", "changed", "edited", "unknown"]


@dataclass(frozen=True)
class Provenance:
    """The workbook a summary was made from, and the summary's body as written."""

    source_sha256: str
    source_size: int
    source_mtime: str  # ISO 8601, UTC
    version: str
    body_sha256: str = ""

    def properties(self) -> dict[str, str]:
        return {
            "source_sha256": self.source_sha256,
            "source_size": str(self.source_size),
            "source_mtime": self.source_mtime,
            "version": self.version,
            "body_sha256": self.body_sha256,
        }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def of_source(source: Path, mtime_of: Path | None = None) -> Provenance:
    """The record for a summary made from source (mtime_of: the file the user has, e.g. the .eml
    an attachment came in; default source)."""
    from opsbook.version import __version__

    stat = source.stat()
    mtime = (mtime_of or source).stat().st_mtime
    when = dt.datetime.fromtimestamp(mtime, dt.timezone.utc).replace(microsecond=0)
    return Provenance(file_sha256(source), stat.st_size, when.isoformat(), __version__)


def _custom_xml(props: dict[str, str]) -> bytes:
    nsmap: Any = {None: CUSTOM_NS, "vt": VT_NS}
    root = etree.Element(f"{{{CUSTOM_NS}}}Properties", nsmap=nsmap)
    for pid, (name, value) in enumerate(props.items(), start=2):
        prop = etree.SubElement(root, f"{{{CUSTOM_NS}}}property")
        prop.set("fmtid", FMTID)
        prop.set("pid", str(pid))
        prop.set("name", PREFIX + name)
        etree.SubElement(prop, f"{{{VT_NS}}}lpwstr").text = value
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def _with_override(content_types: bytes) -> bytes:
    root = etree.fromstring(content_types)
    part = "/" + CUSTOM_PART
    if not any(e.get("PartName") == part for e in root):
        override = etree.SubElement(root, f"{{{CT_NS}}}Override")
        override.set("PartName", part)
        override.set("ContentType", CUSTOM_TYPE)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def _with_relationship(rels: bytes) -> bytes:
    root = etree.fromstring(rels)
    if not any(e.get("Type") == CUSTOM_REL for e in root):
        ids = {e.get("Id") for e in root}
        n = 1
        while f"rId{n}" in ids:
            n += 1
        rel = etree.SubElement(root, f"{{{REL_NS}}}Relationship")
        rel.set("Id", f"rId{n}")
        rel.set("Type", CUSTOM_REL)
        rel.set("Target", CUSTOM_PART)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def stamp(docx: bytes, record: Provenance) -> bytes:
    """The docx with the record as custom document properties (and the body's hash added).
    Deterministic: the same docx and record give the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as src, zipfile.ZipFile(out, "w") as dst:
        body = src.read(BODY_PART)
        props = {**record.properties(), "body_sha256": hashlib.sha256(body).hexdigest()}
        stamp_time = src.infolist()[0].date_time
        for info in src.infolist():
            if info.filename == CUSTOM_PART:
                continue
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = _with_override(data)
            elif info.filename == "_rels/.rels":
                data = _with_relationship(data)
            dst.writestr(info, data, compress_type=info.compress_type)
        member = zipfile.ZipInfo(CUSTOM_PART, date_time=stamp_time)
        member.create_system = 0
        member.external_attr = 0
        dst.writestr(member, _custom_xml(props), compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_PART:
        return None
    return archive.read(info)


def read(docx: Path) -> tuple[Provenance | None, str | None]:
    """(the record, the hash of the body as it is now), either None when absent or unreadable."""
    try:
        with zipfile.ZipFile(docx) as archive:
            custom = _read_part(archive, CUSTOM_PART)
            body = _read_part(archive, BODY_PART)
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError):
        return None, None
    now = hashlib.sha256(body).hexdigest() if body is not None else None
    if custom is None:
        return None, now
    try:
        root = etree.fromstring(custom, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None, now
    props: dict[str, str] = {}
    for prop in root.iter(f"{{{CUSTOM_NS}}}property"):
        name = prop.get("name") or ""
        if name.startswith(PREFIX):
            props[name[len(PREFIX) :]] = "".join(str(t) for t in prop.itertext())
    try:
        record = Provenance(
            props["source_sha256"],
            int(props["source_size"]),
            props["source_mtime"],
            props["version"],
            props.get("body_sha256", ""),
        )
    except (KeyError, ValueError):
        return None, now
    return record, now


def state(target: Path, source: Path) -> State:
    """What to do with an existing summary, as far as its record tells:

    missing: no summary there; unknown: no record (not written by this opsbook, or damaged);
    current: made from the workbook as it is now (edited since or not: nothing to do);
    changed: made by opsbook from an earlier version of the workbook and untouched since
    (write it again); edited: made from an earlier version, and saved by another program since
    (edited by hand: keep it).
    """
    if not target.is_file():
        return "missing"
    record, body = read(target)
    if record is None or body is None:
        return "unknown"
    try:
        size = source.stat().st_size
        same = size == record.source_size and file_sha256(source) == record.source_sha256
    except OSError:
        same = False  # the renderer reports what is wrong with the workbook
    if same:
        return "current"
    untouched = bool(record.body_sha256) and record.body_sha256 == body
    return "changed" if untouched else "edited"
