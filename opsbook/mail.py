"""Who sent a workbook by email: the From header, or the original sender of a forwarded message.

A lead often forwards a colleague's mail to the inbox opsbook reads, so the From header names
the forwarder. The original sender is found, in this order:

1. a forwarded message attached whole (a `message/rfc822` part, Outlook's "forward as
   attachment"): the From header of the message that holds the attachment;
2. a forwarded header block in the text (Gmail's "---------- Forwarded message ---------",
   Outlook's "-----Original Message-----" or a line of underscores, Apple Mail's "Begin
   forwarded message:", QQ Mail's "原始邮件", 163's "转发邮件信息"), or any message whose subject
   starts with Fwd:/FW:/转发: : the first `From:` / `发件人:` / `寄件者:` line after it.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from html.parser import HTMLParser

# Lines that open a forwarded block, after NFKC-like trimming of the dashes around them.
_MARKERS = re.compile(
    r"^\s*(?:-{2,}\s*)?(?:forwarded message|original message|begin forwarded message:?|"
    r"原始邮件|转发邮件信息|转发的邮件|原始郵件|轉寄郵件)(?:\s*-{2,})?\s*$"
    r"|^\s*_{10,}\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|fw|转发|轉寄|转)\s*[:：]", re.IGNORECASE)
_FROM_LINE = re.compile(r"^[ \t>*]*(?:from|发件人|寄件者|發件人)\s*[:：]\s*(?P<who>.+?)\s*$",
                        re.IGNORECASE | re.MULTILINE)  # fmt: skip
MAX_BODY = 1024 * 1024  # characters of a body searched for a forwarded block


@dataclass(frozen=True)
class Sender:
    name: str | None
    address: str | None


def parse_sender(text: str) -> Sender:
    """A sender as mail programs write it: `李明 <a@b.cn>`, `"李明"<a@b.cn>;`,
    `Li Ming [mailto:a@b.cn]`, `a@b.cn`."""
    text = text.strip().rstrip(";,")
    text = re.sub(r"\[mailto:([^\]]+)\]", r"<\1>", text, flags=re.IGNORECASE)
    name, address = email.utils.parseaddr(text)
    if "@" not in address:
        address = ""
        name = name or text.split("<")[0]
    name = name.strip().strip('"').strip()
    if "@" in name and not address:
        name, address = "", name
    return Sender(name or None, address.lower() or None)


def header_sender(message: Message) -> Sender:
    """The first address of the From header, when it can be parsed."""
    try:
        header = message["From"]
        addresses = getattr(header, "addresses", ())
        if addresses:
            first = addresses[0]
            return Sender(first.display_name or None, first.addr_spec.lower() or None)
        if isinstance(header, str) and header.strip():
            return parse_sender(header)
    except Exception:  # a malformed header must not stop the batch
        pass
    return Sender(None, None)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p", "div", "tr", "li", "hr"):
            self.parts.append("\n")


def _body_text(message: EmailMessage) -> str:
    try:
        body = message.get_body(preferencelist=("plain", "html"))
        if body is None:
            return ""
        content = body.get_content()
    except Exception:  # an undecodable body: no forwarded block to find
        return ""
    if not isinstance(content, str):
        return ""
    content = content[:MAX_BODY]
    if body.get_content_subtype() == "html":
        parser = _Text()
        parser.feed(content)
        content = "".join(parser.parts)
    return content.replace("\r\n", "\n").replace("\xa0", " ")


def forwarded_sender(message: EmailMessage) -> Sender | None:
    """The original sender named in a forwarded header block of the text, if any."""
    text = _body_text(message)
    if not text:
        return None
    marker = _MARKERS.search(text)
    subject = str(message.get("Subject") or "")
    if marker is None and not _FORWARD_SUBJECT.match(subject):
        return None
    found = _FROM_LINE.search(text, marker.end() if marker else 0)
    if found is None:
        return None
    sender = parse_sender(found.group("who"))
    return sender if sender.name or sender.address else None


def workbook_parts(message: EmailMessage) -> list[tuple[Message, Sender]]:
    """Every leaf part with its sender: the original sender of a forwarded message (attached
    whole, or named in a forwarded block), else the From header."""
    top = header_sender(message)
    inline = forwarded_sender(message)
    found: list[tuple[Message, Sender]] = []

    def walk(part: Message, sender: Sender) -> None:
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                inner_sender = header_sender(inner)
                walk(inner, inner_sender if inner_sender.name or inner_sender.address else sender)
            return
        if part.is_multipart():
            payload = part.get_payload()
            for sub in payload if isinstance(payload, list) else []:
                if isinstance(sub, Message):
                    walk(sub, sender)
            return
        found.append((part, sender))

    walk(message, inline or top)
    return found
