"""A JSON value that knows its path, so a broken manifest is reported once with where it broke."""

from __future__ import annotations

import json
from typing import Any

from app.errors import ProjectError
from app.types import Location


class JsonAt:
    """A JSON value plus its path, so every complaint names where it is (`nodes["model.x"].columns`)."""

    def __init__(self, value: Any, where: str, file: str, kind: str = "manifest") -> None:
        self.value, self.where, self.file, self.kind = value, where, file, kind

    def fail(self, what: str) -> ProjectError:
        return ProjectError(
            f"broken dbt {self.kind}: {self.where or '(top level)'}: {what}",
            Location(self.file),
            f"regenerate it with `dbt {'docs generate' if self.kind == 'catalog' else 'compile'}` "
            f"and pass the new target/{self.kind}.json",
        )

    def __getitem__(self, key: str) -> JsonAt:
        obj = self.obj()
        if key not in obj:
            raise JsonAt(None, self._join(key), self.file, self.kind).fail("missing")
        return JsonAt(obj[key], self._join(key), self.file, self.kind)

    def get(self, key: str) -> JsonAt:
        obj = self.obj()
        return JsonAt(obj.get(key), self._join(key), self.file, self.kind)

    def _join(self, key: str) -> str:
        part = f".{key}" if key.isidentifier() else f"[{json.dumps(key)}]"
        return f"{self.where}{part}" if self.where else part.lstrip(".")

    def obj(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise self.fail(f"expected an object, found {_kind(self.value)}")
        return self.value

    def objects(self) -> list[tuple[str, JsonAt]]:
        """The entries of an object (null counts as empty)."""
        if self.value is None:
            return []
        return [(k, JsonAt(v, self._join(k), self.file, self.kind)) for k, v in self.obj().items()]

    def items(self) -> list[JsonAt]:
        if self.value is None:
            return []
        if not isinstance(self.value, list):
            raise self.fail(f"expected a list, found {_kind(self.value)}")
        return [JsonAt(v, f"{self.where}[{i}]", self.file, self.kind) for i, v in enumerate(self.value)]

    def text(self) -> str:
        if not isinstance(self.value, str):
            raise self.fail(f"expected a string, found {_kind(self.value)}")
        return self.value

    def opt_text(self) -> str | None:
        if self.value is None:
            return None
        if isinstance(self.value, (int, float)) and not isinstance(self.value, bool):
            return _number_text(self.value)  # model versions may be numbers
        return self.text()

    def texts(self) -> tuple[str, ...]:
        return tuple(i.text() for i in self.items())


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _number_text(value: int | float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
