"""The NFT endpoints: holders of an NFT, NFT info, a collection and its NFTs.

Views of the ledger: holders are its balances inverted, an NFT's ``total`` is what its first
mint made. Shapes follow the samples in loopring-docs/more/ field for field.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_loopring.testing.sandbox.ledger import Ledger
from airflow_provider_loopring.testing.sandbox.params import (
    ApiError,
    ApiResult,
    comma_list,
    flag,
    nft_data,
    paging,
)

MAX_NFT_DATAS = 50  # nft/info/nfts: "max 50" (GB get-nft-info)


def nft_holders(ledger: Ledger, query: dict[str, str]) -> ApiResult:
    """GET /api/v3/nft/info/nftHolders?nftData=..: the accounts holding an NFT, by offset.

    ``totalNum`` counts every holder, as the docs' "total number" reads; the quirk
    ``holders_total_is_page`` makes it count the page, as one community client reads it.

    :param ledger: the data to answer from.
    :param query: ``nftData`` (required), ``offset``, ``limit`` (default 20, max 50).
    """
    if not query.get("nftData"):
        raise ApiError(100001, "invalid argument: nftData is required")
    key = nft_data(query["nftData"], "nftData")
    offset, limit = paging(query)
    rows = ledger.holders(key)
    page = rows[offset : offset + limit]
    holders = [
        {
            "accountId": row["accountId"],
            "address": (ledger.account(row["accountId"]) or {}).get("owner", ""),
            "tokenId": row["tokenId"],
            "amount": row["total"],
        }
        for row in page
    ]
    total = len(page) if "holders_total_is_page" in ledger.quirks else len(rows)
    return ApiResult(200, {"totalNum": total, "nftHolders": holders}, frozenset({key}))


def info(nft: dict[str, Any]) -> dict[str, Any]:
    """An NFT as nft/info/nfts shows it.

    :param nft: the NFT as minted (`Dataset.nft`).
    """
    collection = nft["collectionInfo"]
    return {
        "nftData": nft["nftData"],
        "minter": nft["minter"],
        "nftType": nft["nftType"],
        "tokenAddress": nft["tokenAddress"].lower(),
        "nftId": nft["nftId"],
        "creatorFeeBips": nft["royaltyPercentage"],
        "royaltyPercentage": nft["royaltyPercentage"],
        "status": True,
        "nftFactory": collection["nftFactory"],
        "nftOwner": nft["minter"],
        "nftBaseUri": collection["baseUri"],
        "royaltyAddress": nft["minter"],
    }


def nfts_info(ledger: Ledger, query: dict[str, str]) -> ApiResult:
    """GET /api/v3/nft/info/nfts?nftDatas=a,b: a bare array; unknown NFTs are left out.

    :param ledger: the data to answer from.
    :param query: ``nftDatas``, comma-separated, 1 to 50.
    """
    wanted = [nft_data(value, "nftDatas") for value in comma_list(query, "nftDatas")]
    if not wanted or len(wanted) > MAX_NFT_DATAS:
        raise ApiError(100001, f"invalid argument: nftDatas takes 1 to {MAX_NFT_DATAS} values")
    found = [nft for nft in map(ledger.nft, wanted) if nft is not None]
    return ApiResult(200, [info(nft) for nft in found], frozenset(n["nftData"] for n in found))


def collection_items(ledger: Ledger, query: dict[str, str]) -> ApiResult:
    """GET /api/v3/nft/public/collection/items?id=N: every NFT minted in a collection.

    :param ledger: the data to answer from.
    :param query: ``id`` (required), ``offset``, ``limit`` (default 20; no maximum is
        documented, and none is applied), ``metadata`` (default false).
    """
    collection = _collection_by_id(ledger, query)
    offset, limit = paging(query, most=10**9)
    with_metadata = flag(query, "metadata", False)
    nfts = ledger.collection_nfts(collection["id"])
    page = nfts[offset : offset + limit]
    items = []
    for nft, total in page:
        item = {
            **info(nft),
            "originalRoyaltyPercentage": nft["royaltyPercentage"],
            "originalMinter": nft["minter"],
            "createdAt": nft["createdAt"],
        }
        if with_metadata:
            item["metadata"] = nft["metadata"]
        item["total"] = total
        items.append(item)
    return ApiResult(
        200,
        {"totalNum": len(nfts), "nftTokenInfos": items},
        frozenset(nft["nftData"] for nft, _ in page),
        frozenset({collection["id"]}),
    )


def _collection_by_id(ledger: Ledger, query: dict[str, str]) -> dict[str, Any]:
    raw = query.get("id", "")
    if not raw.isdigit():
        raise ApiError(100001, f"invalid argument: id={raw!r} is not a collection id")
    found = ledger.collection(int(raw))
    if found is None:
        raise ApiError(100001, f"invalid argument: no collection with id {raw}")
    return found


def collection(ledger: Ledger, query: dict[str, str]) -> ApiResult:
    """GET /api/v3/nft/public/collection?id=|nftHash=|collectionAddress=: one, unwrapped.

    :param ledger: the data to answer from.
    :param query: one of ``id``, ``nftHash`` (an NFT's ``nftData``), ``collectionAddress``.
    """
    if query.get("id"):
        found: dict[str, Any] | None = _collection_by_id(ledger, query)
    elif query.get("nftHash"):
        nft = ledger.nft(nft_data(query["nftHash"], "nftHash"))
        found = None if nft is None else nft["collectionInfo"]
    elif query.get("collectionAddress"):
        position = ledger.seeded.find_collection(query["collectionAddress"].lower())
        found = None if position is None else ledger.seeded.collection(position)
    else:
        raise ApiError(100001, "invalid argument: id, nftHash or collectionAddress is required")
    if found is None:
        raise ApiError(100001, "invalid argument: no such collection")
    return ApiResult(200, found, collection_ids=frozenset({found["id"]}))
