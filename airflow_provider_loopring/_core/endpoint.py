"""What an endpoint declaration is, and the one request a call builds from it.

An :class:`Endpoint` says everything the hook needs to call and page it: the path, its query
parameters (each with Loopring's name and the check that names the Python one), how the
account is selected, whether it is paged with offset/limit, how large a page may be and how a
listing ends, the model of a response (a page model knows its list key), what makes an item
the same item on another page, and whether the call needs the API key. The declarations
themselves are in :mod:`.endpoints`; the hook serves every one of them through one generic
pair of methods (``get`` / ``iterate``, and their async twins).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from airflow_provider_loopring._core.validation import (
    MAX_LIMIT,
    check_address,
    check_filter,
    check_flag,
    check_limit,
    check_max_pages,
    check_millis,
    check_offset,
    check_selector,
)
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.models.fields import ApiModel


@dataclass(frozen=True)
class ApiRequest:
    """One GET: the path, the query (already validated and rendered), whether it needs the key."""

    path: str
    params: Mapping[str, str]
    needs_key: bool = True

    def with_params(self, **params: object) -> ApiRequest:
        return ApiRequest(self.path, {**self.params, **_query(**params)}, self.needs_key)

    def page(self, offset: int, limit: int) -> ApiRequest:
        return self.with_params(offset=offset, limit=limit)

    def describe(self) -> str:
        """``GET /path k=v ...``: safe for logs and errors (the key is a header, never a param)."""
        query = " ".join(f"{k}={v}" for k, v in self.params.items())
        return f"GET {self.path} {query}".rstrip()


def _flag(value: object) -> str:
    return "true" if value else "false"


def _join(values: object) -> str | None:
    return ",".join(str(v) for v in values) if values else None  # type: ignore[attr-defined]


def _query(**params: object) -> dict[str, str]:
    return {k: str(v) for k, v in params.items() if v is not None}


@dataclass(frozen=True)
class Param:
    """One query parameter: the keyword a caller gives, Loopring's name, its check and default.

    :param name: the Python keyword (``nft_datas``), named in errors.
    :param api_name: the query parameter Loopring reads (``nftDatas``).
    :param check: ``check(value, name)`` returns the value to send or raises naming ``name``.
    :param render: the checked value as query text; None leaves the parameter out.
    :param default: what is checked and sent when the caller gives nothing (None: nothing).
    :param required: a call must give it (refused, named, before any request).
    """

    name: str
    api_name: str
    check: Callable[[object, str], Any]
    render: Callable[[Any], str | None] = str
    default: object = None
    required: bool = False


def flag(name: str, api_name: str, default: bool) -> Param:
    """A true/false parameter, always sent."""
    return Param(name, api_name, check_flag, _flag, default)


def listed(name: str, api_name: str, check: Callable[[object, str], Any]) -> Param:
    """A list filter: a list or "a,b", each item checked, sent comma-joined."""
    return Param(name, api_name, lambda value, n: check_filter(value, n, check), _join)


def address(name: str, api_name: str) -> Param:
    """One layer-1 address."""
    return Param(name, api_name, check_address)


@dataclass(frozen=True)
class Endpoint:
    """One Loopring endpoint, declared once (see the module's docstring).

    :param path: the URL path.
    :param model: what a response is read as: a page model for a paged endpoint.
    :param params: the query parameters besides the account and the paging.
    :param account: ``"id_or_address"`` (either is sent), ``"id"`` (the endpoint takes only
        an account id: an address is returned by :meth:`request` for the hook to resolve), or
        None (no account).
    :param owner_param: the query parameter an account id is sent as.
    :param address_param: the query parameter an address is sent as.
    :param paged: offset/limit paging; the largest page is ``max_limit``.
    :param key: what makes an item the same item on another page.
    :param owner: an item's account id, where items carry one (a stranger's item is refused).
    :param needs_key: whether the call sends the API key.
    :param one_of: parameters of which a call gives exactly one (a selector).
    :param ends: how a listing ends: ``"total"`` (at ``totalNum``) or ``"empty"`` (at an empty
        page, for endpoints whose ``totalNum`` is not to be trusted).
    """

    path: str
    model: type[ApiModel]
    params: tuple[Param, ...] = ()
    account: Literal["id_or_address", "id"] | None = "id_or_address"
    owner_param: str = "accountId"
    address_param: str = "address"
    paged: bool = True
    max_limit: int = MAX_LIMIT
    key: Callable[[Any], object] | None = None
    owner: Callable[[Any], object] | None = None
    needs_key: bool = True
    one_of: tuple[str, ...] = ()
    ends: Literal["total", "empty"] = "total"

    @property
    def list_key(self) -> str | None:
        """Where a page's items are in the response (the page model's), None when unpaged."""
        return getattr(self.model, "_ITEMS", None) if self.paged else None

    def request(
        self, *, offset: object = None, limit: object = None, **args: object
    ) -> tuple[ApiRequest, str | None]:
        """The request for these arguments, every one checked; and an address to resolve.

        :param offset: the first item (paged endpoints; default 0).
        :param limit: items per page, 1 to ``max_limit`` (default ``max_limit``).
        :param args: the account and the declared parameters, by their Python names.
        :raises LoopringInvalidParameterError: an unknown or invalid argument, named.
        """
        declared = {param.name: param for param in self.params}
        accounts = ("account_id", "address") if self.account else ()
        for name in args:
            if name not in declared and name not in accounts:
                raise LoopringInvalidParameterError(
                    name, f"one of {', '.join([*accounts, *declared])}", args[name]
                )
        self._check_given(args)
        params: dict[str, str] = {}
        resolve = None
        if self.account:
            account_id, owner = check_selector(args.get("account_id"), args.get("address"))
            if self.account == "id":
                owner, resolve = None, owner
            params.update(_query(**{self.owner_param: account_id, self.address_param: owner}))
        for param in self.params:
            given = args.get(param.name)
            if given is None and param.default is None:
                continue  # an optional parameter, not given (None is "not given")
            value = given if param.name in args else param.default  # a flag's None is checked
            rendered = param.render(param.check(value, param.name))
            if rendered is not None:
                params[param.api_name] = rendered
        if not self.paged:
            for name, value in (("offset", offset), ("limit", limit)):
                if value is not None:
                    raise LoopringInvalidParameterError(
                        name, "nothing: not a paged endpoint", value
                    )
        else:
            params["offset"] = str(check_offset(0 if offset is None else offset))
            limit = self.max_limit if limit is None else limit
            params["limit"] = str(check_limit(limit, "limit", self.max_limit))
        return ApiRequest(self.path, params, self.needs_key), resolve

    def _check_given(self, args: Mapping[str, object]) -> None:
        """Every required parameter given, and exactly one of ``one_of``."""
        for param in self.params:
            if param.required and args.get(param.name) is None:
                raise LoopringInvalidParameterError(param.name, "a value (it is required)", None)
        if self.one_of:
            given = [name for name in self.one_of if args.get(name) is not None]
            if len(given) != 1:
                names = "/".join(self.one_of)
                raise LoopringInvalidParameterError(
                    names, f"exactly one of {', '.join(self.one_of)}", tuple(given)
                )

    def listing(
        self, page_size: object = None, max_pages: object = None, **args: object
    ) -> tuple[ApiRequest, str | None]:
        """The first page of a listing of every item, every argument checked by its name.

        :param page_size: items per request, 1 to ``max_limit`` (default ``max_limit``).
        :param max_pages: the most pages to read, checked here (None: the connection's).
        :param args: the account and the declared parameters.
        """
        if not self.paged:
            raise LoopringInvalidParameterError("endpoint", "a paged endpoint", self.path)
        check_max_pages(max_pages)
        size = self.max_limit if page_size is None else page_size
        return self.request(limit=check_limit(size, "page_size", self.max_limit), **args)


def millis(name: str, api_name: str) -> Param:
    """A moment: an aware datetime or epoch milliseconds, sent as milliseconds."""
    return Param(name, api_name, check_millis)


def required(param: Param) -> Param:
    """The same parameter, which a call must give."""
    return Param(param.name, param.api_name, param.check, param.render, param.default, True)
