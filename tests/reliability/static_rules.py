"""AST rules over the application's source: token verification always names its algorithms,
and no logging call mentions a credential.

Two rules, small on purpose so that a reviewer can read them whole:

- `unpinned-verification`: a call to `jwt.decode`, `jws.deserialize_compact` (or
  `deserialize_json`, `deserialize`, `verify`) on a `jwt`/`jws`/`jose` object, or to such a
  function imported by name, must pass an explicit, non-None `algorithms` (by keyword or as the
  third positional argument). Otherwise the library decides which algorithms it accepts (with
  some libraries, `none` or HMAC with a public key).
- `credential-in-log`: a call to a logger method (`log.info`, `logger.exception`,
  `logging.warning`, ...) whose arguments mention `Authorization`, `access_token`, `id_token`,
  `refresh_token`, `client_secret` (or close spellings) in a name, an attribute, a keyword or a
  string literal.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

VERIFY_FUNCTIONS = frozenset(
    {"decode", "deserialize_compact", "deserialize_json", "deserialize", "verify"}
)
JOSE_RECEIVERS = re.compile(r"(?i)^(jwt|jws|jwe|jose|pyjwt|json_web_token)$")
JOSE_MODULES = re.compile(r"(?i)(^|\.)(jwt|jws|jose)($|\.)")
LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"}
)
LOG_RECEIVERS = re.compile(r"(?i)^(log|logger|logging|_log|_logger|.*_log|.*_logger)$")
CREDENTIAL = re.compile(
    r"(?i)(authorization|access[_-]?token|id[_-]?token|refresh[_-]?token|client[_-]?secret)"
)


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule violation: where and which rule."""

    path: str
    line: int
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}"


def _receiver_name(node: ast.expr) -> str | None:
    """`jwt` for `jwt.decode`, `logger` for `self.logger.info`, None otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _has_algorithms(call: ast.Call) -> bool:
    for keyword in call.keywords:
        if keyword.arg == "algorithms":
            return not (isinstance(keyword.value, ast.Constant) and keyword.value.value is None)
        if keyword.arg is None:  # **kwargs: cannot be proven; treat as unpinned
            return False
    if len(call.args) >= 3:
        third = call.args[2]
        return not (isinstance(third, ast.Constant) and third.value is None)
    return False


def _mentions_credential(node: ast.AST) -> bool:
    for child in ast.walk(node):
        text: str | None = None
        if isinstance(child, ast.Name):
            text = child.id
        elif isinstance(child, ast.Attribute):
            text = child.attr
        elif isinstance(child, ast.Constant) and isinstance(child.value, str):
            text = child.value
        elif isinstance(child, ast.keyword):
            text = child.arg
        if text and CREDENTIAL.search(text):
            return True
    return False


class _Checker(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.violations: list[Violation] = []
        self.imported_verifiers: set[str] = set()

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and JOSE_MODULES.search(node.module):
            for alias in node.names:
                if alias.name in VERIFY_FUNCTIONS:
                    self.imported_verifiers.add(alias.asname or alias.name)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = _receiver_name(func.value)
            if (
                func.attr in VERIFY_FUNCTIONS
                and isinstance(func.value, ast.Name)  # a module: `jwt.decode`, not `self.jwt`
                and JOSE_RECEIVERS.match(func.value.id)
                and not _has_algorithms(node)
            ):
                self._add(node, "unpinned-verification")
            if func.attr in LOG_METHODS and receiver and LOG_RECEIVERS.match(receiver):
                arguments: list[ast.AST] = [*node.args, *node.keywords]
                if any(_mentions_credential(argument) for argument in arguments):
                    self._add(node, "credential-in-log")
        elif (
            isinstance(func, ast.Name)
            and func.id in self.imported_verifiers
            and not _has_algorithms(node)
        ):
            self._add(node, "unpinned-verification")
        self.generic_visit(node)

    def _add(self, node: ast.AST, rule: str) -> None:
        self.violations.append(Violation(self.path, getattr(node, "lineno", 0), rule))


def check_source(source: str, path: str = "<snippet>") -> list[Violation]:
    """Every violation of both rules in one module's source."""
    checker = _Checker(path)
    checker.visit(ast.parse(source, filename=path))
    return checker.violations


def check_tree(*roots: Path) -> list[Violation]:
    """Every violation in the Python files under `roots`."""
    found: list[Violation] = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            found.extend(check_source(path.read_text(encoding="utf-8"), str(path)))
    return found
