"""The grammar of a condition, read by hand-written recursive descent into an untyped tree.

    expr    := term ("or" term)*
    term    := factor ("and" factor)*
    factor  := "not" factor | "(" expr ")" | test
    test    := value (== | != | < | <= | > | >=) value
             | value ["not"] "in" (list | value)
             | value "is" ["not"] "null"
             | "any" "(" path "," expr ")"
             | "can" "(" action "," path ")"
    value   := literal | path | "subject" "." name | "now" | "today"
    path    := ("record" | "it") ("." name)+
    literal := string | integer | decimal | "true" | "false" | "null"
    list    := "[" literal ("," literal)* "]"

Nothing here is ever executed: the tree is checked against the schema (`checker.py`) and
only then compiled, to a Python evaluation and to SQLAlchemy expressions.
"""

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.core.conditions.errors import ConditionError

MAX_LENGTH = 2_000  # characters of an expression
MAX_DEPTH = 32  # nested parentheses, `not`s and `any()` bodies


_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op>==|!=|<=|>=|<|>)
    |(?P<punct>[()\[\],.])
    |(?P<quote>['"])""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # number, name, op, punct, string, end
    text: str
    position: int
    value: Any = None


# The untyped tree: what was written, with where it was written.
@dataclass(frozen=True, slots=True)
class Literal:
    value: Any  # str, int, Decimal, bool, or None
    position: int


@dataclass(frozen=True, slots=True)
class Path:
    root: str  # "record" or "it"
    names: tuple[tuple[str, int], ...]  # each name and its position
    position: int

    @property
    def text(self) -> str:
        return ".".join([self.root, *(name for name, _ in self.names)])


@dataclass(frozen=True, slots=True)
class Special:
    """`subject.<name>`, `now` or `today`."""

    name: str  # "subject.id", "now", ...
    position: int


Value = Literal | Path | Special


@dataclass(frozen=True, slots=True)
class ListOf:
    items: tuple[Literal, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Value
    right: Value
    position: int  # of the operator


@dataclass(frozen=True, slots=True)
class In:
    left: Value
    right: ListOf | Value
    negated: bool
    position: int


@dataclass(frozen=True, slots=True)
class IsNull:
    value: Value
    negated: bool
    position: int


@dataclass(frozen=True, slots=True)
class AnyOf:
    path: Path
    body: "Node"
    position: int


@dataclass(frozen=True, slots=True)
class Can:
    action: str
    path: Path
    position: int


@dataclass(frozen=True, slots=True)
class Not:
    item: "Node"
    position: int


@dataclass(frozen=True, slots=True)
class Junction:
    op: str  # "and" or "or"
    items: tuple["Node", ...]
    position: int


Node = Compare | In | IsNull | AnyOf | Can | Not | Junction


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens; a character no token starts with is refused."""
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise ConditionError(f"unexpected character {text[at]!r} at {at}", at)
        kind = match.lastgroup or ""
        if kind == "quote":
            token, at = _string(text, at)
            tokens.append(token)
            continue
        if kind == "number":
            tokens.append(Token("number", match.group(), at, _number(match.group(), at)))
        elif kind != "space":
            tokens.append(Token(kind, match.group(), at))
        at = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _number(text: str, at: int) -> int | Decimal:
    if "." in text:
        return Decimal(text)
    return int(text)


def _string(text: str, start: int) -> tuple[Token, int]:
    """Read a quoted string from `start`: a backslash escapes the quote and itself."""
    quote = text[start]
    chars: list[str] = []
    at = start + 1
    while at < len(text):
        char = text[at]
        if char == "\\" and at + 1 < len(text) and text[at + 1] in (quote, "\\"):
            chars.append(text[at + 1])
            at += 2
        elif char == quote:
            return Token("string", text[start : at + 1], start, "".join(chars)), at + 1
        else:
            chars.append(char)
            at += 1
    raise ConditionError(f"a string opened at {start} is never closed", start)


class Parser:
    """Recursive descent over the tokens of one expression."""

    def __init__(self, text: str) -> None:
        if len(text) > MAX_LENGTH:
            raise ConditionError(
                f"an expression is at most {MAX_LENGTH} characters; this one has "
                f"{len(text)} at {MAX_LENGTH}",
                MAX_LENGTH,
            )
        self.tokens = tokenize(text)
        self.at = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def is_word(self, *words: str) -> bool:
        return self.token.kind == "name" and self.token.text in words

    def expect(self, kind: str, text: str, what: str) -> Token:
        token = self.token
        if token.kind != kind or token.text != text:
            raise self.error(f"expected {what}")
        return self.take()

    def error(self, expected: str) -> ConditionError:
        token = self.token
        found = "the end" if token.kind == "end" else f"`{token.text}`"
        return ConditionError(f"{expected}, found {found} at {token.position}", token.position)

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise ConditionError("an expression is required at 0", 0)
        node = self.expr()
        if self.token.kind != "end":
            raise self.error("expected `and`, `or` or the end")
        return node

    def nested(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(
                f"the expression nests deeper than {MAX_DEPTH} at {position}", position
            )

    def expr(self) -> Node:
        return self.junction("or", self.term)

    def term(self) -> Node:
        return self.junction("and", self.factor)

    def junction(self, word: str, item: Any) -> Node:
        position = self.token.position
        items = [item()]
        while self.is_word(word):
            self.take()
            items.append(item())
        return items[0] if len(items) == 1 else Junction(word, tuple(items), position)

    def factor(self) -> Node:
        token = self.token
        if self.is_word("not"):
            self.take()
            self.nested(token.position)
            node = Not(self.factor(), token.position)
            self.depth -= 1
            return node
        if token.kind == "punct" and token.text == "(":
            self.take()
            self.nested(token.position)
            node = self.expr()
            self.expect("punct", ")", "`)`")
            self.depth -= 1
            return node
        return self.test()

    def test(self) -> Node:
        token = self.token
        if self.is_word("any", "can") and self.tokens[self.at + 1].text == "(":
            return self.any_of() if token.text == "any" else self.can()
        left = self.value()
        op = self.token
        if op.kind == "op":
            self.take()
            return Compare(op.text, left, self.value(), op.position)
        if self.is_word("not", "in"):
            negated = self.take().text == "not"
            if negated:
                if not self.is_word("in"):
                    raise self.error("expected `in` after `not`")
                self.take()
            right: ListOf | Value = self.list_of() if self.token.text == "[" else self.value()
            return In(left, right, negated, op.position)
        if self.is_word("is"):
            self.take()
            negated = self.is_word("not")
            if negated:
                self.take()
            if not self.is_word("null"):
                raise self.error("expected `null` after `is`")
            self.take()
            return IsNull(left, negated, op.position)
        raise self.error("expected a comparison (`==`, `!=`, `<`, ...), `in` or `is`")

    def any_of(self) -> Node:
        start = self.take()
        self.expect("punct", "(", "`(`")
        path = self.path()
        self.expect("punct", ",", "`,`")
        self.nested(start.position)
        body = self.expr()
        self.depth -= 1
        self.expect("punct", ")", "`)`")
        return AnyOf(path, body, start.position)

    def can(self) -> Node:
        start = self.take()
        self.expect("punct", "(", "`(`")
        action = self.token
        if action.kind != "string" or action.value not in ("read", "update", "delete"):
            raise self.error('expected an action: "read", "update" or "delete"')
        self.take()
        self.expect("punct", ",", "`,`")
        path = self.path()
        self.expect("punct", ")", "`)`")
        return Can(action.value, path, start.position)

    def list_of(self) -> ListOf:
        start = self.take()
        items = [self.literal()]
        while self.token.text == ",":
            self.take()
            items.append(self.literal())
        self.expect("punct", "]", "`,` or `]`")
        return ListOf(tuple(items), start.position)

    def literal(self) -> Literal:
        token = self.token
        if token.kind in ("string", "number"):
            self.take()
            return Literal(token.value, token.position)
        if self.is_word("true", "false", "null"):
            self.take()
            return Literal({"true": True, "false": False, "null": None}[token.text], token.position)
        raise self.error("expected a literal (a string, a number, true, false or null)")

    def value(self) -> Value:
        token = self.token
        if self.is_word("record", "it"):
            return self.path()
        if self.is_word("now", "today"):
            self.take()
            return Special(token.text, token.position)
        if self.is_word("subject"):
            self.take()
            self.expect("punct", ".", "`.` after `subject`")
            name = self.token
            if name.kind != "name" or name.text not in ("id", "username", "groups", "roles"):
                raise self.error("expected `id`, `username`, `groups` or `roles` after `subject.`")
            self.take()
            return Special(f"subject.{name.text}", token.position)
        if token.kind in ("string", "number") or self.is_word("true", "false", "null"):
            return self.literal()
        raise self.error("expected a value (a literal, `record.`, `it.`, `subject.`, now, today)")

    def path(self) -> Path:
        root = self.token
        if not self.is_word("record", "it"):
            raise self.error("expected a path starting with `record` or `it`")
        self.take()
        names: list[tuple[str, int]] = []
        while self.token.text == "." and self.token.kind == "punct":
            self.take()
            name = self.token
            if name.kind != "name":
                raise self.error("expected a name after `.`")
            self.take()
            names.append((name.text, name.position))
        if not names:
            raise self.error(f"expected `.` and a name after `{root.text}`")
        return Path(root.text, tuple(names), root.position)


def parse(text: str) -> Node:
    """Parse `text` into its untyped tree, or refuse it (ConditionError, with the position)."""
    return Parser(text).parse()
