"""The API models, against the responses Loopring's doc authors captured (shared/fixtures)."""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_loopring import models
from airflow_provider_loopring.models import (
    TRADE_POSITIONS,
    Account,
    Block,
    BlockTransaction,
    Collection,
    CollectionBalance,
    CollectionNftsPage,
    CollectionsPage,
    DeploymentStatus,
    NftBalance,
    NftBalancesPage,
    NftHoldersPage,
    NftInfos,
    NftMetadata,
    NftTradesPage,
    NftTransactionsPage,
    PendingBalance,
    same_address,
)

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "loopring-docs"
BALANCES = "user_nft_balances__uat2__docs-get-nft-assets.json"
BALANCES_WITH_METADATA = "user_nft_collection_balances__uat2__metadata-true__docs.json"
USER_COLLECTIONS = (
    "user_collection_details__uat2__docs-list-users-nft-balances-group-by-collection-id.json"
)
PUBLIC_COLLECTIONS = (
    "nft_public_collections__mainnet__docs-get-collections-by-contract-address.json"
)
ACCOUNT = "account__uat2__docs-get-account-info.json"
ACCOUNT_NOT_ACTIVATED = "account__uat2__not-activated-nonce0.json"
ACCOUNT_NOT_FOUND = "account__uat2__error-101002-account-not-found.json"
MODEL_FIXTURES = [
    BALANCES,
    BALANCES_WITH_METADATA,
    USER_COLLECTIONS,
    PUBLIC_COLLECTIONS,
    ACCOUNT,
    ACCOUNT_NOT_ACTIVATED,
]

PARSERS: dict[str, Callable[[Any], Any]] = {
    "balances": NftBalancesPage.from_api,
    "collections": CollectionsPage.from_api,
    "account": Account.from_api,
    "collection": Collection.from_api,
}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def kind(body: Any) -> str:
    """What a captured body is, by its shape, so a new fixture cannot slip past the tests."""
    if "resultInfo" in body:
        return "error"
    if "data" in body and "totalNum" in body:
        return "balances"
    if "collections" in body:
        return "collections"
    if "accountId" in body and "publicKey" in body:
        return "account"
    if "deployStatus" in body and "contractAddress" in body:
        return "collection"
    return "unknown"


def balance(**changes: Any) -> dict[str, Any]:
    """A real balance item (with metadata and collectionInfo), changed as given."""
    item: dict[str, Any] = copy.deepcopy(load(BALANCES_WITH_METADATA)["data"][0])
    item.update(changes)
    return item


# --- every captured response ----------------------------------------------------------------


def test_fixture_folder_holds_the_captured_responses() -> None:
    assert FIXTURES.is_dir(), f"missing {FIXTURES}: clone the shared folder beside the repo"
    names = {path.name for path in FIXTURES.glob("*.json")}
    assert {*MODEL_FIXTURES, ACCOUNT_NOT_FOUND} <= names


def test_every_fixture_is_a_shape_we_parse() -> None:
    paths = sorted(FIXTURES.glob("*.json"))
    assert paths
    for path in paths:
        body = load(path.name)
        shape = kind(body)
        assert shape != "unknown", path.name
        if shape != "error":
            assert PARSERS[shape](body).to_dict() == body, path.name


@pytest.mark.parametrize("name", MODEL_FIXTURES)
def test_fixture_round_trips(name: str) -> None:
    body = load(name)
    model = PARSERS[kind(body)](body)

    result = model.to_dict()

    assert result == body
    assert json.loads(json.dumps(result)) == body


@pytest.mark.parametrize("name", MODEL_FIXTURES)
def test_fixture_fields_are_all_modelled(name: str) -> None:
    body = load(name)
    model = PARSERS[kind(body)](body)
    nested: list[Any] = [model]
    for item in getattr(model, "items", []):
        nested += [item, getattr(item, "collection", None), getattr(item, "pending", None)]
        nested += [getattr(item, "metadata", None), getattr(item, "collection_info", None)]
    for part in filter(None, nested):
        assert part.extra_fields == {}, (type(part).__name__, part.extra_fields)


@pytest.mark.parametrize("name", [BALANCES, BALANCES_WITH_METADATA])
def test_balance_items_round_trip_one_by_one(name: str) -> None:
    for item in load(name)["data"]:
        assert NftBalance.from_api(item).to_dict() == item


@pytest.mark.parametrize("name", [USER_COLLECTIONS, PUBLIC_COLLECTIONS])
def test_collection_items_round_trip_one_by_one(name: str) -> None:
    for item in load(name)["collections"]:
        assert CollectionBalance.from_api(item).to_dict() == item
        assert Collection.from_api(item["collection"]).to_dict() == item["collection"]


def test_error_envelope_is_not_mistaken_for_an_account() -> None:
    with pytest.raises(ValueError, match=r"^accountId: expected an integer, got nothing$"):
        Account.from_api(load(ACCOUNT_NOT_FOUND))


# --- typed values ---------------------------------------------------------------------------


def test_balance_from_the_docs() -> None:
    page = NftBalancesPage.from_api(load(BALANCES))

    assert page.total_num == 1
    (item,) = page.items
    assert (item.account_id, item.token_id) == (11329, 32768)
    assert (item.total, item.locked) == (10, 0)
    assert item.pending == PendingBalance.from_api({"withdraw": "0", "deposit": "0"})
    assert (item.pending.withdraw, item.pending.deposit) == (0, 0)
    assert item.deployment_status is DeploymentStatus.DEPLOYED
    assert item.is_counterfactual_nft is True
    assert item.nft_type == "ERC1155"
    assert item.token_address == "0x486e3C172A444B3b7cB2fA91E8EBac37cb3E376C"  # case kept
    assert same_address(item.token_address, "0x486e3c172a444b3b7cb2fa91e8ebac37cb3e376c")
    assert item.nft_id == "0x8473285a59562fe413e1dfc21050214d67c479f662dd40a6ebb50d419c024fdd"
    assert item.metadata is None  # not asked for: absent
    assert item.collection_info is None
    assert item.preference is None
    assert (item.id, item.minter, item.royalty_percentage, item.updated_at) == (None,) * 4


def test_balance_with_metadata_and_collection() -> None:
    page = NftBalancesPage.from_api(load(BALANCES_WITH_METADATA))

    assert page.total_num == 3
    assert [i.total for i in page.items] == [78000, 78000, 80000]
    assert [i.royalty_percentage for i in page.items] == [0, 8, 10]
    first = page.items[0]
    assert (first.id, first.updated_at, first.balance_updated_at) == (7, 1679988240788, None)
    assert first.minter == "0xb4a0c11e4d0d434bb4e9a133e5a6b7b058530e22"
    assert first.preference == {"favourite": False, "hide": False}
    meta = first.metadata
    assert isinstance(meta, NftMetadata)
    assert meta.uri == "ipfs://QmNt8vFqbs4vpyCpVPYcxMVZpke9L7c9q3zyjVEHf471K9"
    assert meta.base["decimals"] == -1
    assert meta.image_size["original"].endswith("-original.jpg")
    assert json.loads(meta.extra["attributes"])[0]["trait_type"] == "Position"
    assert (meta.status, meta.nft_type, meta.network) == (1, 1, 0)
    info = first.collection_info
    assert isinstance(info, Collection)
    assert (info.id, info.name) == (6, "这是第二个collection")
    assert info.deploy_status is DeploymentStatus.DEPLOYED
    assert info.nft_factory == "0x0ad87482a1bfd0B3036Bb4b13708C88ACAe1b8bA"


def test_metadata_nft_id_quirk_gives_the_balance_nft_id() -> None:
    for item in NftBalancesPage.from_api(load(BALANCES_WITH_METADATA)).items:
        assert item.metadata is not None
        assert item.metadata.nft_id is not None
        assert item.metadata.nft_id[2:].isdigit()  # the quirk: 0x + DECIMAL, kept as sent
        assert item.metadata.nft_id_hex == item.nft_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0x255", "0x" + "0" * 62 + "ff"),
        ("0x0", "0x" + "0" * 64),
        ("0xff", "0x" + "0" * 62 + "ff"),  # hex letters: read as hex, should Loopring fix it
        (None, None),
    ],
)
def test_metadata_nft_id_hex(raw: str | None, expected: str | None) -> None:
    assert NftMetadata.from_api({"nftId": raw}).nft_id_hex == expected


def test_nft_id_is_zero_padded_and_lowercased_but_sent_back_raw() -> None:
    raw = "0x810E6D238AEEE149113EC8ECC3C8307BA9BE29719EA5297B0D59697B3D7F27C"  # 63 digits
    item = balance(nftId=raw)

    model = NftBalance.from_api(item)

    assert model.nft_id == "0x0810e6d238aeee149113ec8ecc3c8307ba9be29719ea5297b0d59697b3d7f27c"
    assert model.metadata is not None
    assert model.nft_id == model.metadata.nft_id_hex
    assert model.to_dict()["nftId"] == raw


def test_nft_id_without_prefix_from_the_docs_example() -> None:
    assert NftBalance.from_api({"accountId": 1, "tokenId": 2, "nftId": "100"}).nft_id == (
        "0x" + "0" * 61 + "100"
    )


def test_null_metadata_is_none_and_stays_null() -> None:
    item = balance(metadata=None, collectionInfo=None)

    model = NftBalance.from_api(item)

    assert model.metadata is None
    assert model.collection_info is None
    assert model.to_dict() == item


def test_missing_optional_fields() -> None:
    item = {"accountId": 1, "tokenId": 32768}

    model = NftBalance.from_api(item)

    assert (model.total, model.locked, model.pending.withdraw, model.pending.deposit) == (0,) * 4
    assert model.deployment_status is None
    assert model.nft_id is model.nft_data is model.token_address is model.nft_type is None
    assert model.is_counterfactual_nft is None
    assert model.to_dict() == item


def test_missing_optional_fields_of_nested_models() -> None:
    meta = NftMetadata.from_api({})
    collection = Collection.from_api({"id": 3})
    account = Account.from_api({"accountId": 5})

    assert (meta.uri, meta.nft_id, meta.nft_id_hex, meta.base, meta.extra) == (None,) * 3 + (
        {},
    ) * 2
    assert (collection.deploy_status, collection.is_public, collection.times) == (None, None, {})
    assert (account.public_key, account.is_activated, account.nonce) == ({}, False, None)


def test_big_amounts_become_ints_and_stay_strings_in_to_dict() -> None:
    big = "1" + "0" * 40
    item = balance(total=big, locked="7", pending={"withdraw": big, "deposit": "3"})

    model = NftBalance.from_api(item)

    assert model.total == 10**40
    assert (model.locked, model.pending.withdraw, model.pending.deposit) == (7, 10**40, 3)
    assert model.to_dict()["total"] == big
    assert model.to_dict()["pending"] == {"withdraw": big, "deposit": "3"}


def test_unknown_fields_are_kept() -> None:
    item = balance(newField={"nested": [1, 2]})
    item["metadata"]["mediaType"] = "video"
    body = {"totalNum": 1, "data": [item], "cursor": "abc"}

    page = NftBalancesPage.from_api(body)

    model = page.items[0]
    assert model.extra_fields == {"newField": {"nested": [1, 2]}}
    assert model.metadata is not None
    assert model.metadata.extra_fields == {"mediaType": "video"}
    assert page.extra_fields == {"cursor": "abc"}
    assert page.to_dict() == body
    assert "newField" not in repr(model)
    assert model == NftBalance.from_api(balance())  # unknown fields do not change equality


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("DEPLOYED", DeploymentStatus.DEPLOYED),
        ("deploying", DeploymentStatus.DEPLOYING),
        ("DEPLOY_FAILED", DeploymentStatus.DEPLOY_FAILED),
        ("WAITING_FOR_L1", "WAITING_FOR_L1"),
        (None, None),
    ],
)
def test_deployment_status_known_unknown_or_missing(sent: str | None, expected: Any) -> None:
    item = balance(deploymentStatus=sent)
    item["collectionInfo"]["deployStatus"] = sent

    model = NftBalance.from_api(item)

    assert model.collection_info is not None
    for status in (model.deployment_status, model.collection_info.deploy_status):
        assert status == expected
        assert type(status) is type(expected)  # an unknown value stays a plain str
    assert model.to_dict() == item


def test_collections_of_a_user() -> None:
    page = CollectionsPage.from_api(load(USER_COLLECTIONS))

    assert (page.total_num, len(page.items)) == (35, 12)
    assert [i.count for i in page.items] == [2, 1, 3, 1, 2, 1, 1, 1, 2, 2, 1, 3]
    statuses = {i.collection.deploy_status for i in page.items}
    assert statuses == {
        DeploymentStatus.NOT_DEPLOYED,
        DeploymentStatus.DEPLOYING,
        DeploymentStatus.DEPLOYED,
    }
    first = page.items[0].collection
    assert (first.id, first.nft_type, first.is_public) == (254, "ERC1155", None)
    assert first.collection_address == "0x1abe8e24312e9fe614b5c9c67b472b3ecb3b8788"
    assert first.extra["properties"]["isLegacy"] is False
    assert isinstance(first.times["createdAt"], int)
    legacy = page.items[1].collection
    assert legacy.collection_address is not None
    assert "-0x" in legacy.collection_address


def test_public_collections_come_without_count() -> None:
    body = load(PUBLIC_COLLECTIONS)

    page = CollectionsPage.from_api(body)

    assert (page.total_num, len(page.items)) == (7, 7)
    assert {i.count for i in page.items} == {0}
    assert "count" not in page.to_dict()["collections"][0]
    first = page.items[0].collection
    assert first.collection_address is not None
    assert first.collection_address.startswith("https://api.nft.gamestop.com/")
    assert first.extra["mintChannel"] == "GME"


def test_collection_is_public_when_sent() -> None:
    assert Collection.from_api({"id": 1, "isPublic": True}).is_public is True


@pytest.mark.parametrize(("name", "activated"), [(ACCOUNT, True), (ACCOUNT_NOT_ACTIVATED, False)])
def test_accounts(name: str, activated: bool) -> None:
    body = load(name)

    account = Account.from_api(body)

    assert account.is_activated is activated
    assert account.account_id == body["accountId"]
    assert (account.nonce, account.key_nonce) == (body["nonce"], body["keyNonce"])
    assert account.public_key == body["publicKey"]
    assert (account.owner, account.frozen, account.tags) == (body["owner"], False, "")


# --- copies, immutability -------------------------------------------------------------------


def test_to_dict_is_a_deep_copy_and_from_api_a_copy() -> None:
    item = balance()
    expected = copy.deepcopy(item)
    model = NftBalance.from_api(item)

    out = model.to_dict()
    out["pending"]["deposit"] = "99"
    out["metadata"]["base"]["name"] = "changed"
    out["collectionInfo"]["extra"]["properties"]["isLegacy"] = True
    item["total"] = "1"
    item["metadata"]["uri"] = "changed"
    del item["collectionInfo"]["name"]

    assert model.to_dict() == expected
    assert model.total == 78000


def test_models_are_frozen_and_slotted() -> None:
    model = NftBalance.from_api(balance())

    with pytest.raises(dataclasses.FrozenInstanceError):
        model.total = 0  # type: ignore[misc]
    assert not hasattr(model, "__dict__")
    assert model.metadata is not None
    assert not hasattr(model.metadata, "__dict__")


# --- wrong shapes ---------------------------------------------------------------------------


def _with_metadata(**changes: Any) -> dict[str, Any]:
    item = balance()
    item["metadata"].update(changes)
    return item


WRONG_SHAPES = [
    (NftBalancesPage, {"totalNum": 1, "data": {"a": 1}}, "data: expected a list, got dict"),
    (NftBalancesPage, {"totalNum": 1}, "data: expected a list, got nothing"),
    (NftBalancesPage, {"totalNum": 1, "data": ["x"]}, "data[0]: expected an object, got 'x'"),
    (NftBalancesPage, {"totalNum": "many", "data": []}, "totalNum: expected an integer"),
    (NftBalancesPage, {"totalNum": 2, "data": [balance(), balance(total="abc")]}, "data[1].total"),
    (NftBalance, {"tokenId": 1}, "accountId: expected an integer, got nothing"),
    (NftBalance, balance(accountId=None), "accountId: expected an integer, got null"),
    (NftBalance, balance(accountId=True), "accountId: expected an integer, got bool"),
    (NftBalance, balance(tokenId="12a"), "tokenId: expected an integer"),
    (NftBalance, balance(total="abc"), "total: expected a decimal integer string, got 'abc'"),
    (NftBalance, balance(locked=1.5), "locked: expected a decimal integer string, got float"),
    (NftBalance, balance(total=" 10"), "total: expected a decimal integer string"),
    (NftBalance, balance(pending="0"), "pending: expected an object, got '0'"),
    (NftBalance, balance(pending={"deposit": "1 000"}), "pending.deposit: expected a decimal"),
    (NftBalance, balance(nftId="0xnothex"), "nftId: expected up to 64 hex digits"),
    (NftBalance, balance(nftId="0x1" + "0" * 64), "nftId: expected up to 64 hex digits"),
    (NftBalance, balance(nftId=5), "nftId: expected a string, got int"),
    (NftBalance, balance(metadata="yes"), "metadata: expected an object"),
    (NftBalance, _with_metadata(nftId="0x" + "9" * 78), "metadata.nftId: expected a 256-bit id"),
    (NftBalance, _with_metadata(base=[]), "metadata.base: expected an object, got list"),
    (NftBalance, balance(deploymentStatus=2), "deploymentStatus: expected a string, got int"),
    (NftBalance, balance(isCounterFactualNFT="true"), "isCounterFactualNFT: expected a boolean"),
    (NftBalance, balance(collectionInfo={"name": "x"}), "collectionInfo.id: expected an integer"),
    (NftBalance, balance(preference=[]), "preference: expected an object"),
    (CollectionsPage, {"totalNum": 1, "collections": None}, "collections: expected a list"),
    (
        CollectionsPage,
        {"totalNum": 1, "collections": [{"count": 1}]},
        "collections[0].collection: expected an object, got nothing",
    ),
    (
        CollectionsPage,
        {"totalNum": 1, "collections": [{"collection": {"id": 1}, "count": "x"}]},
        "collections[0].count: expected an integer, got 'x'",
    ),
    (Collection, {"id": 1, "deployStatus": ["DEPLOYED"]}, "deployStatus: expected a string"),
    (Collection, {"id": 1, "times": "now"}, "times: expected an object"),
    (Account, [1, 2], "Account: expected an object, got list"),
    (Account, {"accountId": 1, "publicKey": "0xabc"}, "publicKey: expected an object"),
    (Account, {"accountId": 1, "nonce": "one"}, "nonce: expected an integer"),
]


@pytest.mark.parametrize(("model", "data", "message"), WRONG_SHAPES)
def test_wrong_shape_raises_value_error_naming_the_field(
    model: Any, data: Any, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        model.from_api(data)
    assert str(caught.value).startswith(message)


def test_error_messages_stay_short() -> None:
    with pytest.raises(ValueError) as caught:
        NftBalance.from_api(balance(total="9" * 500 + "x"))
    assert len(str(caught.value)) < 120
    assert str(caught.value).endswith("999...")


# --- DeploymentStatus, same_address, the module ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("deployed", DeploymentStatus.DEPLOYED),
        (" DEPLOYED ", DeploymentStatus.DEPLOYED),
        ("Not_Deployed", DeploymentStatus.NOT_DEPLOYED),
        ("deploy_failed\n", DeploymentStatus.DEPLOY_FAILED),
    ],
)
def test_deployment_status_parse(value: str, expected: DeploymentStatus) -> None:
    assert DeploymentStatus.parse(value) is expected


@pytest.mark.parametrize(
    ("value", "shown"), [("DEPLOYD", "'DEPLOYD'"), ("", "''"), (None, "null"), (3, "int 3")]
)
def test_deployment_status_parse_rejects(value: Any, shown: str) -> None:
    with pytest.raises(ValueError) as caught:
        DeploymentStatus.parse(value)
    assert str(caught.value) == (
        f"unknown deployment status {shown}; "
        "expected one of NOT_DEPLOYED, DEPLOYING, DEPLOYED, DEPLOY_FAILED"
    )


def test_deployment_status_is_terminal() -> None:
    assert {s for s in DeploymentStatus if s.is_terminal} == {
        DeploymentStatus.DEPLOYED,
        DeploymentStatus.DEPLOY_FAILED,
    }


def test_deployment_status_reads_as_its_value() -> None:
    assert str(DeploymentStatus.DEPLOYING) == "DEPLOYING"
    assert f"{DeploymentStatus.DEPLOYED}" == "DEPLOYED"
    assert DeploymentStatus.DEPLOYED == "DEPLOYED"
    assert json.dumps(DeploymentStatus.DEPLOYED) == '"DEPLOYED"'


OWNER = "0x8656920c85342d646E5286Cb841F90209272ABeb"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (OWNER, OWNER.upper().replace("0X", "0x"), 1),
        (OWNER, OWNER.lower(), 1),
        (OWNER, OWNER[:-1] + "c", 0),
        (None, None, 0),
        ("0xabc", None, 0),
    ],
)
def test_same_address(a: str | None, b: str | None, same: int) -> None:
    assert same_address(a, b) is bool(same)


def test_public_names() -> None:
    assert set(models.__all__) == {
        "TRADE_POSITIONS",
        "Account",
        "Block",
        "BlockTransaction",
        "Collection",
        "CollectionBalance",
        "CollectionNft",
        "CollectionNftsPage",
        "CollectionsPage",
        "DeploymentStatus",
        "NftBalance",
        "NftBalancesPage",
        "NftHolder",
        "NftHoldersPage",
        "NftInfo",
        "NftInfos",
        "NftMetadata",
        "NftTrade",
        "NftTradesPage",
        "NftTransaction",
        "NftTransactionsPage",
        "PendingBalance",
        "same_address",
        "touched_accounts",
    }
    assert all(hasattr(models, name) for name in models.__all__)


def test_importing_the_models_imports_nothing_heavy() -> None:
    code = (
        "import sys, airflow_provider_loopring.models; "
        "print(sorted(m for m in ('airflow', 'requests', 'httpx', 'pendulum') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- the samples of the endpoints issue 25 and 26 read (loopring-docs/more) ------------------

MORE = FIXTURES / "more"
MORE_MODELS: dict[str, Callable[[Any], Any]] = {
    "block_get_block__uat2__docs-layer-2-block-info.json": Block.from_api,
    "block_get_pending_requests__uat2__docs-get-pending-transactions.json": (
        lambda body: [BlockTransaction.from_api(tx) for tx in body]
    ),
    "nft_holders__uat2__docs-get-nft-holders.json": NftHoldersPage.from_api,
    "nft_info_nfts__uat2__docs-get-nft-info.json": NftInfos.from_api,
    "nft_public_collection__uat2__docs-get-collection-by-collection-id.json": Collection.from_api,
    "nft_public_collection_items__uat2__metadata-true__docs-list-all-nfts-of-a-collection.json": (
        CollectionNftsPage.from_api
    ),
    "user_nft_trades__uat2__docs-get-nft-trade-history.json": NftTradesPage.from_api,
    "user_nft_transactions__uat2__docs-get-nft-transactions.json": NftTransactionsPage.from_api,
}


def test_every_sample_of_the_new_endpoints_has_its_model() -> None:
    assert sorted(path.name for path in MORE.glob("*.json")) == sorted(MORE_MODELS)


@pytest.mark.parametrize("name", sorted(MORE_MODELS))
def test_new_samples_read_whole_and_give_back_what_was_sent(name: str) -> None:
    body = json.loads((MORE / name).read_text(encoding="utf-8"))
    model = MORE_MODELS[name](body)
    parts = model if isinstance(model, list) else [model, *getattr(model, "items", [])]
    for part in parts:
        assert part.extra_fields == {}, (type(part).__name__, part.extra_fields)
    if isinstance(model, list):
        assert [tx.to_dict() for tx in model] == body
    elif isinstance(model, NftInfos):
        assert model.to_dict() == {"items": body}
    elif isinstance(model, NftTradesPage):  # arrays come back with their positions named
        assert model.to_dict()["trades"] == [
            dict(zip(TRADE_POSITIONS, row, strict=True)) for row in body["trades"]
        ]
    else:
        assert model.to_dict() == body


def test_new_samples_typed_values() -> None:
    def sample(name: str) -> Any:
        return MORE_MODELS[name](json.loads((MORE / name).read_text(encoding="utf-8")))

    trade = sample("user_nft_trades__uat2__docs-get-nft-trade-history.json").items[0]
    assert (trade.id, trade.sell_account_id, trade.buy_account_id) == (815, 12454, 10488)
    assert (trade.nft_amount, trade.sell_fee_amount, trade.price) == (1, 10**17, "1.00000000")
    tx = sample("user_nft_transactions__uat2__docs-get-nft-transactions.json").items[0]
    assert (tx.created_at, tx.amount, tx.fee_amount, tx.block) == (1649045073989, 11, 1557000, None)
    holder = sample("nft_holders__uat2__docs-get-nft-holders.json").items[0]
    assert (holder.account_id, holder.amount, holder.token_id) == (10388, 123, 32783)
    nft = sample(
        "nft_public_collection_items__uat2__metadata-true__docs-list-all-nfts-of-a-collection.json"
    ).items[0]
    assert nft.total == 0 and nft.created_at == 1669792478241 and nft.metadata is not None


def test_a_trade_row_of_another_length_keeps_what_it_has() -> None:
    short = NftTradesPage.from_api({"totalNum": 1, "trades": [["9", "0xab"]]}).items[0]
    assert (short.id, short.hash, short.nft_amount, short.block_id) == (9, "0xab", 0, None)
    long = NftTradesPage.from_api({"totalNum": 1, "trades": [[str(i) for i in range(21)]]})
    assert long.items[0].to_dict()["more"] == ["19", "20"]
    with pytest.raises(ValueError, match=r"trades\[0\]: expected an array"):
        NftTradesPage.from_api({"totalNum": 1, "trades": ["815"]})


OWNER, ELSEWHERE, NEWCOMER = ("0x" + c * 40 for c in "abc")
ACCOUNT_A = {"accountId": 5, "owner": OWNER.upper().replace("0X", "0x")}
ACCOUNT_B = {"accountId": 6, "owner": ELSEWHERE}
NFT_ROW = {"accountId": 5, "tokenId": 32800, "nftData": "0x" + "12" * 32, "nftType": "ERC1155"}
NFT_TOKEN = {"tokenId": 32800, "nftData": NFT_ROW["nftData"], "amount": "1"}


def _pending() -> list[dict[str, Any]]:
    name = "block_get_pending_requests__uat2__docs-get-pending-transactions.json"
    return json.loads((FIXTURES / "more" / name).read_text())


def _docs_deposit() -> dict[str, Any]:
    block = json.loads(
        (FIXTURES / "more" / "block_get_block__uat2__docs-layer-2-block-info.json").read_text()
    )
    return block["transactions"][0]


def _touched() -> list[tuple[str, dict[str, Any], set[int], set[str]]]:
    from airflow_provider_loopring.testing.sandbox import txs

    withdraw = txs.withdraw(ACCOUNT_A, NFT_TOKEN, 1)
    transfer = txs.transfer(ACCOUNT_A, ACCOUNT_B, NFT_TOKEN, 32801, 1)
    mint = txs.nft_mint(ACCOUNT_A, ACCOUNT_B, NFT_ROW, 1, 1)
    return [
        ("docs-deposit", _docs_deposit(), {10010}, set()),
        ("docs-trade", _pending()[0], {88240, 108}, set()),
        ("docs-transfer", _pending()[1], {61279, 109068}, set()),
        ("mint", mint, {5, 6}, set()),
        ("mint-minter-by-address", {**mint, "minterAccountId": 0}, {6}, {OWNER}),
        ("transfer", transfer, {5, 6}, set()),
        (
            "transfer-to-new-address",
            {**transfer, "toAccountId": 0, "toAccountAddress": NEWCOMER},
            {5},
            {NEWCOMER},
        ),
        (
            "transfer-receiver-hidden",
            {k: v for k, v in transfer.items() if k[:2] != "to"},
            {5},
            set(),
        ),
        (
            "trade",
            txs.spot_trade(NFT_ROW, {**NFT_ROW, "accountId": 6}, 1, 10, (1, 2)),
            {5, 6},
            set(),
        ),
        ("withdraw", withdraw, {5}, set()),
        ("withdraw-elsewhere-on-layer-1", {**withdraw, "toAddress": ELSEWHERE}, {5}, set()),
        (
            "withdrawal-by-owner-only",
            {"txType": "WITHDRAWAL", "owner": OWNER, "toAddress": ELSEWHERE},
            set(),
            {OWNER},
        ),
        ("deposit", txs.deposit(ACCOUNT_A, NFT_TOKEN), {5}, set()),
        (
            "deposit-by-address-only",
            {"txType": "Deposit", "owner": OWNER, "token": NFT_TOKEN},
            set(),
            {OWNER},
        ),
        ("account-update", txs.account_update(ACCOUNT_A, 1), {5}, set()),
        ("noop", txs.noop(), set(), set()),
    ]


@pytest.mark.parametrize(
    ("tx", "ids", "addresses"), [t[1:] for t in _touched()], ids=[t[0] for t in _touched()]
)
def test_each_transaction_type_names_exactly_its_accounts(
    tx: dict[str, Any], ids: set[int], addresses: set[str]
) -> None:
    """An address only where its role gives no id; a withdrawal's layer-1 address never."""
    assert models.touched_accounts(tx) == (ids, addresses)
    assert BlockTransaction.from_api(tx).accounts() == (ids, addresses)


@pytest.mark.loopring_sandbox(accounts=6, nfts_per_account=4, collections_per_account=1)
def test_every_ledger_transaction_names_its_accounts_by_id_and_no_address(
    loopring_sandbox: Any,
) -> None:
    from airflow_provider_loopring.testing.sandbox import txs

    sandbox = loopring_sandbox
    a, b, c = (account["accountId"] for account in sandbox.accounts[:3])
    nft = sandbox.balances(a, non_zero=True)[0]["nftData"]
    sandbox.withdraw(a, nft, "1")
    sandbox.deposit(b, nft, "1")
    sandbox.transfer(b, "0x" + "5a" * 20, nft, "1")  # opens an account
    sandbox.trade(a, c, sandbox.balances(a, non_zero=True)[0]["nftData"], "1")
    sandbox.simulate_day(change_rate=0.5, seed=3)
    kinds = set()
    for block_id in range(1, sandbox.head + 1):
        for entry in sandbox._dataset.block(block_id).entries:
            kinds.add(entry.tx["txType"])
            assert models.touched_accounts(entry.tx) == (set(txs.named(entry.tx)), set())
    assert {"NftMint", "Transfer", "SpotTrade", "Withdraw", "Deposit"} <= kinds
