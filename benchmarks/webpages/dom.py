"""A small HTML tree built with the standard library's `html.parser`, and simple selectors.

The evaluation must not share code with the extractor under test, so it parses pages
itself. Entities are decoded by the parser (`convert_charrefs`); the newline right after
`<pre>` is dropped as the HTML standard says; `<p>`, `<li>`, `<dt>`/`<dd>`, table rows and
cells are closed implicitly the way browsers close them. That is enough for the
generated documentation this evaluation reads, which is close to well-formed.

Selectors are compound only (no combinators): `tag`, `#id`, `.class`, `[attr]`,
`[attr=value]`, in any combination, e.g. `div.highlight`, `div[role=main]`, `main`.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Iterator

VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
# start tags that close an open <p> (HTML "p in button scope")
CLOSES_P = frozenset(
    "address article aside blockquote details dialog div dl fieldset figcaption figure footer "
    "form h1 h2 h3 h4 h5 h6 header hgroup hr main menu nav ol p pre section table ul".split())
SCOPE = frozenset("html table td th caption marquee object template applet button".split())
# tag -> (tags it closes, tags that stop the search)
IMPLIED = {
    "li": ({"li"}, {"ul", "ol"} | SCOPE),
    "dt": ({"dt", "dd"}, {"dl"} | SCOPE),
    "dd": ({"dt", "dd"}, {"dl"} | SCOPE),
    "tr": ({"tr", "td", "th"}, {"table", "tbody", "thead", "tfoot"}),
    "td": ({"td", "th"}, {"tr", "table"}),
    "th": ({"td", "th"}, {"tr", "table"}),
    "tbody": ({"tbody", "thead", "tfoot", "tr", "td", "th"}, {"table"}),
    "thead": ({"tbody", "thead", "tfoot", "tr", "td", "th"}, {"table"}),
    "tfoot": ({"tbody", "thead", "tfoot", "tr", "td", "th"}, {"table"}),
    "option": ({"option"}, {"select", "datalist"}),
}
PREFORMATTED = frozenset({"pre", "textarea", "listing", "plaintext"})


class Element:
    """An element: `tag`, `attrs` (values decoded, `""` for a bare attribute), `children`
    (elements and text strings, in document order) and `parent`."""

    __slots__ = ("tag", "attrs", "children", "parent")

    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None):
        self.tag, self.attrs, self.children, self.parent = tag, attrs, [], parent

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def iter(self) -> Iterator[Element]:
        """This element and its descendants, in document order."""
        stack = [self]
        while stack:
            el = stack.pop()
            yield el
            stack.extend(c for c in reversed(el.children) if isinstance(c, Element))

    def select(self, selectors: tuple[Selector, ...]) -> list[Element]:
        return [el for el in self.iter() if any(s.matches(el) for s in selectors)]

    def ancestors(self) -> Iterator[Element]:
        el = self.parent
        while el is not None:
            yield el
            el = el.parent

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"


_SELECTOR = re.compile(r"^([a-z0-9-]*)((?:[#.][\w-]+|\[[\w-]+(?:=[^\]]*)?\])*)$")
_PART = re.compile(r"([#.])([\w-]+)|\[([\w-]+)(?:=([^\]]*))?\]")


class Selector:
    """One compound selector; see the module docstring."""

    def __init__(self, text: str):
        m = _SELECTOR.match(text.strip())
        if not m or not text.strip():
            raise ValueError(f"selector {text!r}: expected tag, #id, .class, [attr] or [attr=value] parts")
        self.text, self.tag = text, m.group(1)
        self.id, self.classes, self.attrs = None, set(), {}
        for sigil, name, attr, value in _PART.findall(m.group(2)):
            if sigil == "#":
                self.id = name
            elif sigil == ".":
                self.classes.add(name)
            else:
                self.attrs[attr] = value.strip("\"'") if value else None

    def matches(self, el: Element) -> bool:
        if self.tag and el.tag != self.tag:
            return False
        if self.id is not None and el.attrs.get("id") != self.id:
            return False
        if self.classes and not self.classes <= el.classes:
            return False
        for name, value in self.attrs.items():
            if name not in el.attrs or (value is not None and el.attrs[name] != value):
                return False
        return True

    def __repr__(self) -> str:
        return f"Selector({self.text!r})"


def selectors(*texts: str) -> tuple[Selector, ...]:
    return tuple(Selector(t) for t in texts)


def matches_any(el: Element, sels: tuple[Selector, ...]) -> bool:
    return any(s.matches(el) for s in sels)


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.stack = [self.root]

    def _close_implied(self, tag: str) -> None:
        if tag in CLOSES_P:
            self._close_in_scope({"p"}, SCOPE)
        if tag in IMPLIED:
            self._close_in_scope(*IMPLIED[tag])

    def _close_in_scope(self, targets: set[str], stops: set[str]) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            tag = self.stack[i].tag
            if tag in targets:
                del self.stack[i:]
                return
            if tag in stops:
                return

    def handle_starttag(self, tag, attrs):
        self._close_implied(tag)
        el = Element(tag, {k: v or "" for k, v in attrs}, self.stack[-1])
        self.stack[-1].children.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag == "br":  # browsers read </br> as <br>
            self.handle_starttag("br", [])
            return
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        parent = self.stack[-1]
        if parent.tag in PREFORMATTED and not parent.children and data.startswith("\n"):
            data = data[1:]
        if not data:
            return
        if parent.children and isinstance(parent.children[-1], str):
            parent.children[-1] += data
        else:
            parent.children.append(data)


def parse(html: str) -> Element:
    """The document tree of `html` (the root's tag is `#document`)."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root
