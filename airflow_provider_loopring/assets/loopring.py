"""The ``loopring://`` asset scheme: an account, one of its collections or one of its NFTs.

``loopring://api3.loopring.io/account/11329/collection/270`` names collection 270 of account
11329 on mainnet; ``.../account/11329`` the account (its holdings), ``.../account/11329/nft/
0x<64 hex>`` one NFT it holds. Airflow calls :func:`sanitize_uri` (registered in the provider
info's ``asset-uris``) for every such URI, at DAG parse time: only the standard library here.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

SCHEME = "loopring"
MAINNET = "api3.loopring.io"
_KINDS = {"collection": r"\d{1,19}", "nft": r"0x[0-9a-f]{64}"}
_FORM = "loopring://<host>/account/<id>[/collection/<id> | /nft/<nftData>]"


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """The one spelling of a Loopring asset URI: lowercase host without the default port,
    numbers without leading zeros, nftData in lowercase; anything else raises ValueError.

    :param uri: the URI, already split (and its scheme lowercased) by Airflow.
    """
    host = _host(uri)
    if uri.query:
        raise ValueError(f"A Loopring asset URI takes no query ({uri.query!r}); expected {_FORM}")
    return uri._replace(netloc=host, path=_path(uri.path), query="", fragment="")


def asset_uri(
    *,
    account_id: int,
    collection_id: int | None = None,
    nft_data: str | None = None,
    host: str = MAINNET,
) -> str:
    """The URI of an account, a collection or an NFT, as :func:`sanitize_uri` spells it.

    :param account_id: the account.
    :param collection_id: one of its collections.
    :param nft_data: or one of its NFTs.
    :param host: the API host the data comes from (mainnet by default).
    """
    path = f"/account/{account_id}"
    if collection_id is not None:
        path += f"/collection/{collection_id}"
    elif nft_data is not None:
        path += f"/nft/{nft_data}"
    return urlunsplit(sanitize_uri(urlsplit(f"{SCHEME}://{host}{path}")))


def create_asset(*, extra: dict[str, Any] | None = None, **where: Any) -> Any:
    """An ``Asset`` named by its URI, so every spelling is one asset (Airflow keys assets by
    name and URI; a URI passed alone would also be the name, as typed).

    :param extra: the asset's ``extra``.
    :param where: the arguments of :func:`asset_uri`.
    """
    from airflow.sdk import Asset

    uri = asset_uri(**where)
    return Asset(name=uri, uri=uri, extra=extra)


def _host(uri: SplitResult) -> str:
    try:
        host, port = (uri.hostname or "").lower(), uri.port
    except ValueError as error:
        raise ValueError(f"A Loopring asset URI needs a valid host: {error}") from None
    if not host:
        raise ValueError(f"A Loopring asset URI needs the API host; expected {_FORM}")
    return host if port in (None, 443) else f"{host}:{port}"


def _path(path: str) -> str:
    parts = [part.lower() for part in path.strip("/").split("/")]
    if len(parts) not in (2, 4) or parts[0] != "account" or not re.fullmatch(r"\d{1,19}", parts[1]):
        raise ValueError(f"Not a Loopring asset path: {path!r}; expected {_FORM}")
    normalized = f"/account/{int(parts[1])}"
    if len(parts) == 4:
        kind, value = parts[2], parts[3]
        if kind not in _KINDS or not re.fullmatch(_KINDS[kind], value):
            raise ValueError(f"Not a Loopring asset path: {path!r}; expected {_FORM}")
        normalized += f"/{kind}/{int(value) if kind == 'collection' else value}"
    return normalized
