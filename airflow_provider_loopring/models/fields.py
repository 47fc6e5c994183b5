"""How a model reads its fields: the readers, the :class:`Field` record, the base model.

A model lists its fields once, in ``_FIELDS``, a tuple of :class:`Field`: the attribute, the
name Loopring sends, the types taken as they are, and the reader for anything else. Kinds
(:data:`STRING`, :data:`AMOUNT`, ...) make the usual fields: ``STRING("nft_data", "nftData")``.
To add a field, add its annotation to the model and its row to ``_FIELDS``; defining the class
fails when an annotated attribute has no row.

:meth:`ApiModel._parse` is the hot path (every field of every record an operator fetches):
one loop over the table, the value taken as is when its type is the usual one (checked without
a call), the reader called only otherwise, each value set straight into its slot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, TypeVar

_M = TypeVar("_M", bound="ApiModel")
_T = TypeVar("_T")
MISSING: Any = object()  # "absent", told apart from null in error messages
NONE: type = type(None)
_SCALARS = frozenset({str, int, float, bool, NONE})
_set = object.__setattr__

# A reader gets the model's mapping and Loopring's name of the field: it returns the value
# it accepts, converted (a decimal string to an int, null to {}), or raises naming the field.
Reader = Callable[[dict[str, Any], str], Any]


# --- errors ----------------------------------------------------------------------------------


def describe(value: Any) -> str:
    """A value for an error message: short, and its type named unless it is a string.

    :param value: the value as received; :data:`MISSING` reads "nothing", None "null".
    """
    if value is MISSING:
        return "nothing"
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return text if isinstance(value, str) else f"{type(value).__name__} {text}"


def bad(key: str, expected: str, value: Any) -> ValueError:
    """The error for a field of the wrong shape: ``key: expected ..., got ...``.

    :param key: the field, as Loopring names it (or a path to it).
    :param expected: what it should have been, in words ("an integer").
    :param value: what it was (:data:`MISSING` when absent).
    :return: the error, for the caller to raise.
    """
    return ValueError(f"{key}: expected {expected}, got {describe(value)}")


# --- readers ---------------------------------------------------------------------------------


def _as_int(value: Any) -> int | None:
    """A JSON integer or a decimal string as an int; None for anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        digits = value[1:] if value.startswith("-") else value
        # isascii/isdigit first: int() would also take " 7", "1_000" and non-ASCII digits.
        if digits.isascii() and digits.isdigit():
            try:
                return int(value)
            except ValueError:  # beyond Python's int-from-string digit limit
                return None
    return None


def read_required_int(raw: Mapping[str, Any], key: str) -> int:
    """A field that must be an integer (or its decimal string).

    :param raw: the object as Loopring sent it.
    :param key: the field's name there.
    :raises ValueError: naming the field, when it is absent, null or not an integer.
    """
    number = _as_int(raw.get(key))
    if number is None:
        raise bad(key, "an integer", raw.get(key, MISSING))
    return number


def read_int(raw: Mapping[str, Any], key: str, expected: str = "an integer") -> int | None:
    """An optional integer field (or its decimal string); None when absent or null.

    :param raw: the object as Loopring sent it.
    :param key: the field's name there.
    :param expected: what the error says was expected.
    :raises ValueError: naming the field, when it is something else.
    """
    value = raw.get(key)
    if value is None:
        return None
    number = _as_int(value)
    if number is None:
        raise bad(key, expected, value)
    return number


def _read_amount(raw: Mapping[str, Any], key: str) -> int:
    """A token amount: a decimal string of any size; missing or null is nothing held."""
    number = read_int(raw, key, "a decimal integer string")
    return 0 if number is None else number


def _read_optional(raw: Mapping[str, Any], key: str, kind: type[_T], expected: str) -> _T | None:
    value = raw.get(key)
    if value is None or isinstance(value, kind):
        return value
    raise bad(key, expected, value)


def read_str(raw: Mapping[str, Any], key: str) -> str | None:
    """An optional string field; None when absent or null.

    :param raw: the object as Loopring sent it.
    :param key: the field's name there.
    :raises ValueError: naming the field, when it is something else.
    """
    return _read_optional(raw, key, str, "a string")


def _read_bool(raw: Mapping[str, Any], key: str) -> bool | None:
    return _read_optional(raw, key, bool, "a boolean")


def _read_object(raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    """A nested object left as a plain dict; missing or null reads as empty."""
    return _read_optional(raw, key, dict, "an object") or {}


def _read_optional_object(raw: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    return _read_optional(raw, key, dict, "an object")


def parse_at(model: type[_M], path: str, value: Any) -> _M:
    """``value`` read into ``model``, its errors prefixed with ``path`` (``data[3].total``).

    :param model: the model class to build.
    :param path: where ``value`` is in the response, for errors.
    :param value: the decoded JSON object; the model owns a shallow copy of it.
    :raises ValueError: naming the path, when it is not an object or has a wrong field.
    """
    if not isinstance(value, dict) and not isinstance(value, Mapping):  # the ABC check is slow
        raise bad(path, "an object", value)
    try:
        return model._parse(dict(value))
    except ValueError as exc:
        raise ValueError(f"{path}.{exc}") from exc


def read_nested(raw: dict[str, Any], key: str, model: type[_M]) -> _M | None:
    """A nested object read into ``model``; None when null or absent.

    The parent's ``raw`` then holds the child's copy, so each dict is held once.

    :param raw: the parent object, as the parent model holds it.
    :param key: the nested object's name there.
    :param model: the model class to build.
    """
    value = raw.get(key)
    if value is None:
        return None
    parsed = parse_at(model, key, value)
    raw[key] = parsed._raw  # the parent points at the child's copy: each dict is held once
    return parsed


def copy_json(value: Any) -> Any:
    """Deep copy of JSON data; several times faster than ``copy.deepcopy`` on it.

    Each dict is copied whole, in C; only the containers in it are visited, and a dict of
    plain values (most of them) is recognised without a loop.

    :param value: decoded JSON: dicts, lists and plain values.
    """
    if isinstance(value, dict):
        copied = dict(value)
        if not _SCALARS.issuperset(map(type, copied.values())):
            for key, item in copied.items():
                if isinstance(item, (dict, list)):
                    copied[key] = copy_json(item)  # an existing key: safe while iterating
        return copied
    if isinstance(value, list):
        return [copy_json(item) if isinstance(item, (dict, list)) else item for item in value]
    return value


# --- the table -------------------------------------------------------------------------------


class Field(NamedTuple):
    """One field of a model: ``attribute`` is read from Loopring's ``key``, taken as it is when
    its type is one of ``types``, else passed through ``read``."""

    attribute: str
    key: str
    types: frozenset[type]
    read: Reader


class Kind(NamedTuple):
    """The ``types`` and ``read`` shared by a kind of field; called, it makes the field."""

    types: frozenset[type]
    read: Reader

    def __call__(self, attribute: str, key: str) -> Field:
        return Field(attribute, key, self.types, self.read)


STRING = Kind(frozenset({str, NONE}), read_str)
INTEGER = Kind(frozenset({int, NONE}), read_int)
REQUIRED_INTEGER = Kind(frozenset({int}), read_required_int)
BOOLEAN = Kind(frozenset({bool, NONE}), _read_bool)
OBJECT = Kind(frozenset({dict}), _read_object)  # null or absent reads as {}
OPTIONAL_OBJECT = Kind(frozenset({dict, NONE}), _read_optional_object)
AMOUNT = Kind(frozenset(), _read_amount)  # decimal strings: always converted


def nested(attribute: str, key: str, model: type[ApiModel]) -> Field:
    """A nested object read into ``model`` (None when null or absent).

    :param attribute: the model's attribute.
    :param key: the object's name in Loopring's response.
    :param model: the model class to read it into.
    :return: the field, for a model's ``_FIELDS``.
    """

    def read(raw: dict[str, Any], name: str) -> Any:  # a closure: faster than a partial
        return read_nested(raw, name, model)

    return Field(attribute, key, frozenset({NONE}), read)


def _setter(cls: type, attribute: str) -> Callable[[Any, Any], None]:
    """The slot's own setter in the class ``slots=True`` makes: a third faster than
    ``object.__setattr__``, which looks the slot up and checks the call on every use."""
    slot = cls.__dict__.get(attribute)
    if slot is not None and hasattr(slot, "__set__"):
        setter: Callable[[Any, Any], None] = slot.__set__
        return setter
    return lambda model, value: _set(model, attribute, value)


# --- the base model --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiModel:
    """The API mapping a model came from, and the way back to it."""

    _FIELDS: ClassVar[tuple[Field, ...]] = ()
    _KEYS: ClassVar[frozenset[str]] = frozenset()  # Loopring's names the model knows
    # _FIELDS for the loop in _parse: each attribute's setter instead of its name.
    _READ: ClassVar[tuple[tuple[Callable[[Any, Any], None], str, frozenset[type], Reader], ...]]
    _raw: dict[str, Any] = field(repr=False, compare=False)

    def __init_subclass__(cls) -> None:
        # No super(): slots=True remakes the class, so its __class__ cell would be stale.
        # This runs again for the remade class, whose slots give the setters.
        if "_FIELDS" not in cls.__dict__:
            return
        cls._KEYS = frozenset(f.key for f in cls._FIELDS)
        cls._READ = tuple((_setter(cls, f.attribute), f.key, f.types, f.read) for f in cls._FIELDS)
        hints = cls.__annotations__  # the class's own (Python >= 3.10)
        typed = {name for name, hint in hints.items() if not str(hint).startswith("ClassVar")}
        unread = typed - {f.attribute for f in cls._FIELDS}
        if unread:  # _parse would leave them unset
            raise TypeError(f"{cls.__name__}._FIELDS does not read {sorted(unread)}")

    @classmethod
    def from_api(cls: type[_M], data: Mapping[str, Any]) -> _M:
        """Build from a decoded JSON object; unknown fields are kept, optional ones may be absent.

        :param data: the object as Loopring sent it; the model keeps a shallow copy of it
            and of each nested object it models.
        :raises ValueError: naming the field, when the data has the wrong shape.
        """
        if not isinstance(data, Mapping):
            raise bad(cls.__name__, "an object", data)
        return cls._parse(dict(data))

    @classmethod
    def _parse(cls: type[_M], raw: dict[str, Any]) -> _M:
        """Build from ``raw``, which the new model owns, field by field as ``_FIELDS`` says.

        Each field is set straight into its slot, past the frozen class's ``__setattr__`` as
        its own ``__init__`` does, without first gathering keyword arguments.
        """
        model = object.__new__(cls)
        _set(model, "_raw", raw)
        get = raw.get
        for put, key, types, read in cls._READ:
            value = get(key)
            put(model, value if type(value) in types else read(raw, key))
        return model

    def to_dict(self, *, copy: bool = True) -> dict[str, Any]:
        """The object as received: Loopring's names and values, as JSON-ready data.

        :param copy: True (default): a deep copy, the caller's own. False: the model's own
            data, for a caller that only reads it, such as one that serialises each record
            and drops the model; a copy costs about as much CPU as ``json.dumps`` of it.
            Changing what it returns changes the model.
        """
        if not copy:
            return self._raw
        copied: dict[str, Any] = copy_json(self._raw)
        return copied

    @property
    def extra_fields(self) -> dict[str, Any]:
        """Fields Loopring sent that this model does not know (a copy)."""
        return {k: copy_json(v) for k, v in self._raw.items() if k not in self._KEYS}


# --- pages of the list endpoints -------------------------------------------------------------

_P = TypeVar("_P", bound="Page")


@dataclass(frozen=True, slots=True, kw_only=True)
class Page(ApiModel):
    """A page of a list endpoint: ``totalNum`` and the list under ``_ITEMS``.

    Read by hand rather than from a field table: its items are popped out of its own mapping.
    Each list endpoint's page is a subclass naming ``_ITEMS`` and ``_ITEM_MODEL``.

    :param total_num: items matching the query across all pages.
    :param items: this page's items, each its own model.
    """

    _ITEMS: ClassVar[str]
    _ITEM_MODEL: ClassVar[type[ApiModel]]
    total_num: int
    items: Sequence[ApiModel]

    @classmethod
    def _parse(cls: type[_P], raw: dict[str, Any]) -> _P:
        # Popped: the page keeps only its own fields, each item keeps its own.
        values = raw.pop(cls._ITEMS, MISSING)
        if not isinstance(values, list):
            raise bad(cls._ITEMS, "a list", values)
        items = [parse_at(cls._ITEM_MODEL, f"{cls._ITEMS}[{i}]", v) for i, v in enumerate(values)]
        return cls(_raw=raw, total_num=read_required_int(raw, "totalNum"), items=items)

    def to_dict(self, *, copy: bool = True) -> dict[str, Any]:
        """The page as received, its items included (see :meth:`ApiModel.to_dict`).

        :param copy: True (default): a deep copy, the caller's own; False: the models' own
            data, for a caller that only reads it.
        """
        own = copy_json(self._raw) if copy else self._raw
        return {**own, self._ITEMS: [item.to_dict(copy=copy) for item in self.items]}
