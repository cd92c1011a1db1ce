"""A small HTML reader for the page tests: an element tree, forms as a browser submits them."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
# Inputs whose `value` attribute is what the form sends.
VALUE_INPUTS = frozenset(
    {"hidden", "text", "email", "password", "number", "date", "datetime-local", "search"}
)

FormData = dict[str, list[str]]


@dataclass
class Element:
    """One element: its tag, attributes, children and the text directly inside it."""

    tag: str
    attrs: dict[str, str]
    parent: "Element | None" = None
    children: list["Element | str"] = field(default_factory=list)

    def text(self) -> str:
        """Return the element's text, descendants included, with whitespace collapsed."""
        parts: list[str] = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text())
        return " ".join(" ".join(parts).split())

    def raw_text(self) -> str:
        """Return the text directly inside, exactly as written (a textarea's value)."""
        return "".join(child for child in self.children if isinstance(child, str))

    def iter(self) -> Iterator["Element"]:
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list["Element"]:
        """Return the descendants with this tag and these attribute values (`class_` for class)."""
        wanted = {key.rstrip("_"): value for key, value in attrs.items()}

        def match(element: Element) -> bool:
            if tag is not None and element.tag != tag:
                return False
            for key, value in wanted.items():
                if key == "class":
                    if value not in element.attrs.get("class", "").split():
                        return False
                elif element.attrs.get(key) != value:
                    return False
            return True

        return [element for element in self.iter() if match(element)]

    def find(self, tag: str | None = None, **attrs: str) -> "Element | None":
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def by_id(self, element_id: str) -> "Element | None":
        return self.find(id=element_id)

    def contains(self, other: "Element") -> bool:
        return any(element is other for element in self.iter())


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v if v is not None else "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(
            Element(tag, {k: v if v is not None else "" for k, v in attrs}, self.current)
        )

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(text: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


class Page:
    """A fetched HTML page."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status = response.status_code
        self.root = parse(response.text)

    @property
    def title(self) -> str:
        element = self.root.find("title")
        return element.text() if element else ""

    @property
    def heading(self) -> str:
        element = self.root.find("h1")
        return element.text() if element else ""

    @property
    def csrf_token(self) -> str:
        """Return the CSRF token the page's forms carry."""
        element = self.root.find("input", name="csrf_token")
        assert element is not None, f"no csrf_token input on {self.response.url}"
        token = element.attrs.get("value", "")
        assert token, f"empty csrf_token on {self.response.url}"
        return token

    def nav_paths(self) -> list[str]:
        """Return the targets of the main navigation's links."""
        nav = self.root.find("nav", **{"aria-label": "Main"})
        return [a.attrs["href"] for a in nav.find_all("a")] if nav else []

    def flashes(self) -> list[str]:
        return [element.text() for element in self.root.find_all(class_="flash")]

    def errors(self) -> dict[str, str]:
        """Return the field messages: the text of every `<field>-error` element, by field."""
        return {
            element.attrs["id"].removesuffix("-error"): element.text()
            for element in self.root.iter()
            if element.attrs.get("id", "").endswith("-error")
        }

    def form(self, action: str | None = None) -> "Form":
        """Return the page's form posting to `action` (else the first in the main content)."""
        main = self.root.find("main") or self.root
        for element in main.find_all("form"):
            if action is None or element.attrs.get("action") == action:
                return Form(element)
        raise AssertionError(f"no form with action {action!r} on {self.response.url}")


@dataclass
class Control:
    """One named form control."""

    element: Element

    @property
    def name(self) -> str:
        return self.element.attrs.get("name", "")

    @property
    def kind(self) -> str:
        """Return `select`, `select-multiple`, `textarea` or the input's type."""
        if self.element.tag == "select":
            return "select-multiple" if "multiple" in self.element.attrs else "select"
        if self.element.tag == "textarea":
            return "textarea"
        return self.element.attrs.get("type", "text")

    def options(self) -> list[tuple[str, str]]:
        """Return a select's options as (value, text)."""
        return [
            (option.attrs.get("value", option.text()), option.text())
            for option in self.element.find_all("option")
        ]

    def submitted(self) -> list[str]:
        """Return the values a browser sends for this control."""
        if "disabled" in self.element.attrs:
            return []
        kind = self.kind
        if kind in ("select", "select-multiple"):
            options = self.element.find_all("option")
            chosen = [o.attrs.get("value", o.text()) for o in options if "selected" in o.attrs]
            if kind == "select" and not chosen and options:
                chosen = [options[0].attrs.get("value", options[0].text())]
            return chosen
        if kind == "textarea":
            return [self.element.raw_text()]
        if kind in ("checkbox", "radio"):
            return (
                [self.element.attrs.get("value", "on")] if "checked" in self.element.attrs else []
            )
        if kind in VALUE_INPUTS:
            return [self.element.attrs.get("value", "")]
        return []


class Form:
    """A form: its controls, and the data a browser would submit."""

    def __init__(self, element: Element) -> None:
        self.element = element
        self.action = element.attrs.get("action", "")
        self.controls = [
            Control(e)
            for e in element.iter()
            if e.tag in ("input", "select", "textarea") and e.attrs.get("name")
        ]

    def control(self, name: str) -> Control:
        for control in self.controls:
            if control.name == name:
                return control
        raise AssertionError(f"no control {name!r} in the form to {self.action}")

    def names(self, where: Callable[[Control], bool] = lambda _: True) -> list[str]:
        return [control.name for control in self.controls if where(control)]

    def data(self) -> FormData:
        """Return what submitting the form unchanged sends, by name."""
        data: FormData = {}
        for control in self.controls:
            values = control.submitted()
            if values or control.kind == "select-multiple":
                data.setdefault(control.name, []).extend(values)
        return data
