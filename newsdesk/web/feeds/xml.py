"""XML text that any XML 1.0 parser accepts, and a lean writer that produces it.

Every string a feed writes goes through here, so a feed stays well-formed
whatever the sources published.
"""

from __future__ import annotations

import re

# Everything outside XML 1.0's Char production: C0 controls but tab/LF/CR,
# surrogates, and U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: object) -> str:
    """``value`` as text that any XML 1.0 parser accepts."""
    return _NOT_XML.sub("", "" if value is None else str(value))


def escape_text(value: str) -> str:
    """Element content: XML-safe and escaped as Django's SAX writer escapes it."""
    return _NOT_XML.sub("", value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attr(value: str) -> str:
    """An attribute value for double quotes."""
    return escape_text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


def quick(name: str, contents: str | None) -> str:
    """``FastXMLWriter.addQuickElement(name, contents)`` without attributes, as a string."""
    return f"<{name}>{escape_text(contents)}</{name}>" if contents else f"<{name}/>"


class FastXMLWriter:
    """The subset of Django's ``SimplerXMLGenerator`` that the feed generators call.

    Same output, built in a list and joined once; the SAX writer costs several
    calls per element, which dominated the time to render fifty items. Text
    and attributes are also stripped of characters XML 1.0 forbids, whatever
    produced them.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []

    def startDocument(self) -> None:
        self.parts.append('<?xml version="1.0" encoding="utf-8"?>\n')

    def processingInstruction(self, target: str, data: str) -> None:
        self.parts.append(f"<?{target} {data}?>")

    def _open(self, name: str, attrs) -> str:
        if not attrs:
            return "<" + name
        return "<" + name + "".join(f' {k}="{escape_attr(str(v))}"' for k, v in sorted(attrs.items()))

    def startElement(self, name: str, attrs=None) -> None:
        self.parts.append(self._open(name, attrs) + ">")

    def endElement(self, name: str) -> None:
        self.parts.append(f"</{name}>")

    def characters(self, content: str) -> None:
        if content:
            self.parts.append(escape_text(content))

    def addQuickElement(self, name: str, contents: str | None = None, attrs=None) -> None:
        if contents:
            self.parts.append(f"{self._open(name, attrs)}>{escape_text(contents)}</{name}>")
        else:
            self.parts.append(self._open(name, attrs) + "/>")

    def getvalue(self) -> str:
        return "".join(self.parts)
