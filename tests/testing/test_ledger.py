"""The sandbox's ledger, proved over HTTP as a pipeline reads it (issue 23, item 5).

Every view (balances, holders, history) must follow from the blocks exactly; the replay and
the account extraction are the test's own reading of Loopring's docs (`ledger_client`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_loopring.testing import LoopringSandbox, SandboxClient, SandboxError
from tests.testing.ledger_client import (
    KIND_PATHS,
    TRADES,
    TRANSACTIONS,
    Chain,
    named_accounts,
    nft_moves,
    replay,
)

# Loopring's own samples of the new endpoints (../shared beside the repo, as tests/test_models.py)
MORE = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "loopring-docs" / "more"
NEW_ADDRESS = "0x" + "ab" * 20


@pytest.fixture
def busy() -> Iterator[tuple[LoopringSandbox, Chain]]:
    """A small sandbox after a day of every kind of activity, all of it sealed."""
    with LoopringSandbox(accounts=5, nfts_per_account=24, block_size=9) as sandbox:
        ids = [a["accountId"] for a in sandbox.accounts]
        held = sandbox.balances(ids[0], non_zero=True)
        minted = sandbox.mint(ids[1], "7")["nftToken"]["nftData"]
        sandbox.transfer(ids[1], ids[2], minted, "3")
        sandbox.trade(ids[2], ids[3], minted, "2", "0.5")
        sandbox.transfer(ids[0], NEW_ADDRESS, held[0]["nftData"])
        sandbox.withdraw(ids[3], minted, "1")
        sandbox.deposit(ids[4], minted, "4")
        sandbox.set_balance(ids[0], held[1]["nftData"], "0")  # to the burn account
        sandbox.set_balance(ids[0], held[2]["nftData"], "99999")  # a mint
        sandbox.set_balance(ids[4], "0x" + "5" * 64, "2")  # an NFT nobody minted
        sandbox.simulate_day(change_rate=0.6, seed=4)
        sandbox.seal_block()
        yield sandbox, Chain(sandbox.url, sandbox.api_key)


def every_account(sandbox: LoopringSandbox, blocks: list[dict[str, Any]]) -> set[int]:
    named = {a for block in blocks for tx in block["transactions"] for a in named_accounts(tx)}
    return named | {a["accountId"] for a in sandbox.accounts}


def test_replaying_every_block_gives_every_balance(busy: tuple[LoopringSandbox, Chain]) -> None:
    sandbox, chain = busy
    blocks = chain.blocks(1, chain.head())
    replayed = replay(blocks)
    accounts = every_account(sandbox, blocks)
    assert NEW_ADDRESS in {a["owner"].lower() for a in sandbox.accounts}  # opened by a transfer
    assert len(accounts) > len(sandbox.accounts)  # the burn account holds what was burned
    for account_id in accounts:
        assert chain.balances(account_id) == dict(replayed.get(account_id, Counter()))


def test_new_blocks_name_every_account_whose_holdings_changed(
    busy: tuple[LoopringSandbox, Chain],
) -> None:
    sandbox, chain = busy
    before_head = chain.head()
    accounts = every_account(sandbox, chain.blocks(1, before_head))
    before = {account_id: chain.balances(account_id) for account_id in accounts}
    day = sandbox.simulate_day(change_rate=0.4, seed=9)
    new_blocks = chain.blocks(before_head + 1, chain.head())
    assert [b["blockId"] for b in new_blocks] == day["blockIds"]
    accounts |= every_account(sandbox, new_blocks)
    changed = {a for a in accounts if chain.balances(a) != before.get(a, {})}
    named = {a for block in new_blocks for tx in block["transactions"] for a in named_accounts(tx)}
    assert changed and changed <= named <= set(day["accounts"])


def test_holders_are_the_balances_inverted(busy: tuple[LoopringSandbox, Chain]) -> None:
    sandbox, chain = busy
    blocks = chain.blocks(1, chain.head())
    inverted: dict[str, dict[int, int]] = {}
    for account_id in every_account(sandbox, blocks):
        for nft_data, total in chain.balances(account_id).items():
            if total:
                inverted.setdefault(nft_data, {})[account_id] = total
    nfts = {nft for block in blocks for tx in block["transactions"] for _, nft, _ in nft_moves(tx)}
    assert set(inverted) <= nfts
    assert any(len(holders) > 1 for holders in inverted.values())
    for nft_data in nfts:
        assert chain.holders(nft_data) == inverted.get(nft_data, {})


def test_history_lists_every_nft_transaction_naming_the_account(
    busy: tuple[LoopringSandbox, Chain],
) -> None:
    sandbox, chain = busy
    blocks = chain.blocks(1, chain.head())
    for account_id in every_account(sandbox, blocks):
        expected = {
            (block["blockId"], index)
            for block in blocks
            for index, tx in enumerate(block["transactions"])
            if account_id in named_accounts(tx)
        }
        listed, hashes = set(), set()
        for key, path in KIND_PATHS.items():
            for row in chain.pages(path, key, accountId=account_id):
                listed.add((row["blockIdInfo"]["blockId"], row["blockIdInfo"]["indexInBlock"]))
                hashes.add(row["hash"])
        combined = chain.pages(TRANSACTIONS, "transactions", accountId=account_id)
        assert {row["hash"] for row in combined} == hashes and len(combined) == len(hashes)
        for trade in chain.pages(TRADES, "trades", accountId=account_id):
            listed.add((int(trade[11]), int(trade[12])))
        assert listed == expected, account_id


def test_history_is_newest_first_and_the_quirk_turns_it(
    busy: tuple[LoopringSandbox, Chain],
) -> None:
    sandbox, chain = busy
    account_id = sandbox.accounts[0]["accountId"]
    newest_first = chain.pages(TRANSACTIONS, "transactions", accountId=account_id)
    stamps = [row["timestamp"] for row in newest_first]
    assert stamps == sorted(stamps, reverse=True) and stamps[0] > stamps[-1]
    SandboxClient(sandbox.url).set_quirks(["history_oldest_first"])
    oldest_first = chain.pages(TRANSACTIONS, "transactions", accountId=account_id)
    assert [row["id"] for row in oldest_first] == [row["id"] for row in newest_first][::-1]


def test_mints_key_and_holders_total_follow_the_docs_unless_quirked(
    busy: tuple[LoopringSandbox, Chain],
) -> None:
    sandbox, chain = busy
    account_id = sandbox.accounts[0]["accountId"]
    shared = next(
        n for n, h in ((n, chain.holders(n)) for n in chain.balances(account_id)) if len(h) > 1
    )
    documented = chain.get(KIND_PATHS["mints"], accountId=account_id)
    holders = chain.get("/api/v3/nft/info/nftHolders", nftData=shared, limit=1)
    assert documented["mints"] and "transfers" not in documented
    assert holders["totalNum"] > 1 and len(holders["nftHolders"]) == 1
    client = SandboxClient(sandbox.url)
    client.set_quirks(["mints_key_transfers", "holders_total_is_page"])
    assert client.quirks == ["holders_total_is_page", "mints_key_transfers"]
    quirked = chain.get(KIND_PATHS["mints"], accountId=account_id)
    assert quirked["transfers"] == documented["mints"] and "mints" not in quirked
    assert chain.get("/api/v3/nft/info/nftHolders", nftData=shared, limit=1)["totalNum"] == 1
    with pytest.raises(SandboxError, match="unknown quirks"):
        client.set_quirks(["no_such_quirk"])


def test_blocks_hide_receivers_leaves_who_receives_out_of_every_block(
    busy: tuple[LoopringSandbox, Chain],
) -> None:
    sandbox, chain = busy
    receivers = ("toAccountId", "toAccountAddress", "toAddress")
    documented = [tx for block in chain.blocks(1, chain.head()) for tx in block["transactions"]]
    assert any(key in tx for tx in documented for key in receivers)
    SandboxClient(sandbox.url).set_quirks(["blocks_hide_receivers"])
    quirked = [tx for block in chain.blocks(1, chain.head()) for tx in block["transactions"]]
    assert quirked == [{k: v for k, v in tx.items() if k not in receivers} for tx in documented]


# -- the docs' samples parse with the sandbox's own shapes --


def shape(value: Any) -> Any:
    """The JSON type of a value, and of everything inside it (a list: of its first item)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def sample(name: str) -> Any:
    return json.loads(next(MORE.glob(f"{name}__*.json")).read_text())


def test_every_new_fixture_has_the_sandboxs_shape(busy: tuple[LoopringSandbox, Chain]) -> None:
    sandbox, chain = busy
    assert len(list(MORE.glob("*.json"))) == 8  # a new sample needs a line here
    account_id = sandbox.accounts[1]["accountId"]
    nft_data = next(iter(chain.balances(account_id)))
    collection_id = sandbox.balances(account_id)[0]["collectionInfo"]["id"]
    ours = {
        "nft_holders": chain.get("/api/v3/nft/info/nftHolders", nftData=nft_data),
        "nft_info_nfts": chain.get("/api/v3/nft/info/nfts", nftDatas=nft_data),
        "nft_public_collection": chain.get("/api/v3/nft/public/collection", id=collection_id),
        "user_nft_trades": chain.get(TRADES, accountId=account_id),
        "user_nft_transactions": chain.get(TRANSACTIONS, accountId=account_id),
    }
    for name, body in ours.items():
        assert shape(body) == shape(sample(name)), name
    items = chain.pages(
        "/api/v3/nft/public/collection/items", "nftTokenInfos", id=collection_id, metadata="true"
    )
    expected = shape(sample("nft_public_collection_items")["nftTokenInfos"][0])
    assert items and all(shape(item) == expected for item in items if item["metadata"])
    block = chain.get("/api/v3/block/getBlock", id=1)
    documented = sample("block_get_block")
    assert set(block) == set(documented) and shape(block["blockId"]) == shape(documented["blockId"])
    # Block transactions: each documented field, with its type, on ours of the same kind.
    sandbox.transfer(account_id, sandbox.accounts[2]["accountId"], nft_data)
    sandbox.trade(sandbox.accounts[2]["accountId"], account_id, nft_data, "1", "1")
    sandbox.deposit(account_id, nft_data)
    pending = chain.get("/api/v3/block/getPendingRequests")
    by_kind = {tx["txType"]: shape(tx) for tx in pending}
    for tx in documented["transactions"] + sample("block_get_pending_requests"):
        assert _within(shape(tx), by_kind[tx["txType"]]), tx["txType"]


def _within(documented: Any, ours: Any) -> bool:
    if isinstance(documented, dict):
        return isinstance(ours, dict) and all(
            key in ours and _within(value, ours[key]) for key, value in documented.items()
        )
    return bool(documented == ours)


# -- mutations, blocks and bad input --


def test_client_mutations_are_the_transactions_the_blocks_hold() -> None:
    with LoopringSandbox(accounts=3, nfts_per_account=12) as sandbox:
        client, chain = SandboxClient(sandbox.url), Chain(sandbox.url, sandbox.api_key)
        first, second, third = (a["accountId"] for a in sandbox.accounts)
        mint = client.mint(first, "5")
        nft_data = mint["nftToken"]["nftData"]
        made = [
            mint,
            client.transfer(first, second, nft_data, "2"),
            client.trade(second, third, nft_data, "1", "0.2"),
            client.withdraw(third, nft_data),
            client.deposit(first, nft_data, "3"),
        ]
        assert chain.get("/api/v3/block/getPendingRequests") == made
        assert client.seal_block() == chain.head() == 4  # three seeded blocks, then ours
        assert chain.get("/api/v3/block/getBlock", id=4)["transactions"] == made
        assert chain.get("/api/v3/block/getPendingRequests") == []
        assert chain.balances(first)[nft_data] == 6 and chain.holders(nft_data) == {
            first: 6,
            second: 1,
        }
        client.set_locked(first, nft_data, "6")
        client.set_pending(first, nft_data, withdraw="2", deposit="1")
        row = chain.get("/api/v3/user/nft/balances", accountId=first, nftDatas=nft_data)["data"][0]
        assert (row["locked"], row["pending"]) == ("6", {"withdraw": "2", "deposit": "1"})
        with pytest.raises(SandboxError, match="unlocked"):
            client.transfer(first, second, nft_data)  # all of it is locked
        day = client.simulate_day(change_rate=1.0, seed=1)
        assert day["transactions"] and day["blockIds"][-1] == chain.head()
        named = {a for tx in day["transactions"] for a in named_accounts(tx)}
        assert named and named <= set(day["accounts"])


def test_block_size_seals_full_blocks_and_an_empty_seal_is_a_noop() -> None:
    with LoopringSandbox(accounts=2, nfts_per_account=4, block_size=2) as sandbox:
        chain = Chain(sandbox.url, sandbox.api_key)
        account_id = sandbox.accounts[0]["accountId"]
        for _ in range(3):
            sandbox.mint(account_id)
        assert chain.head() == 3 and len(chain.get("/api/v3/block/getPendingRequests")) == 1
        assert chain.get("/api/v3/block/getBlock", id=3)["blockSize"] == 2
        sandbox.seal_block()
        assert sandbox.seal_block() == 5
        assert chain.get("/api/v3/block/getBlock")["transactions"] == [{"txType": "Noop"}]


def test_set_balance_is_a_mint_or_a_transfer_to_the_burn_account() -> None:
    with LoopringSandbox(accounts=2, nfts_per_account=10) as sandbox:
        chain = Chain(sandbox.url, sandbox.api_key)
        account_id = sandbox.accounts[0]["accountId"]
        nft_data = sandbox.balances(account_id, non_zero=True)[0]["nftData"]
        sandbox.set_balance(account_id, nft_data, "0")
        sandbox.set_balance(account_id, nft_data, "4")
        burn, mint = chain.get("/api/v3/block/getPendingRequests")
        assert burn["txType"] == "Transfer" and burn["toAccountAddress"].endswith("dead")
        assert mint["txType"] == "NftMint" and mint["nftToken"]["amount"] == "4"
        assert chain.balances(account_id)[nft_data] == 4


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v3/block/getBlock", {"id": "-1"}),
        ("/api/v3/block/getBlock", {"id": "latest"}),
        ("/api/v3/block/getBlock", {"id": "999999"}),
        ("/api/v3/nft/info/nftHolders", {}),
        ("/api/v3/nft/info/nftHolders", {"nftData": "0xZZ"}),
        ("/api/v3/nft/info/nftHolders", {"nftData": "0x01", "limit": "0"}),
        ("/api/v3/nft/info/nfts", {"nftDatas": ",".join(["0x01"] * 51)}),
        ("/api/v3/nft/info/nfts", {"nftDatas": "nft"}),
        ("/api/v3/nft/public/collection/items", {"id": "x"}),
        ("/api/v3/nft/public/collection/items", {"id": "1"}),
        ("/api/v3/nft/public/collection", {}),
        ("/api/v3/nft/public/collection", {"collectionAddress": "0x00"}),
        ("/api/v3/user/nft/transactions", {}),
        ("/api/v3/user/nft/transactions", {"accountId": "1"}),
        ("/api/v3/user/nft/transactions", {"accountId": "{id}", "types": "swap"}),
        ("/api/v3/user/nft/transfers", {"accountId": "{id}", "txStatus": "done"}),
        ("/api/v3/user/nft/mints", {"accountId": "{id}", "start": "yesterday"}),
        ("/api/v3/user/nft/trades", {"accountId": "{id}", "isASC": "maybe"}),
        ("/api/v3/user/nft/withdrawals", {"accountId": "{id}", "nftData": "x"}),
    ],
)
def test_bad_input_gets_the_error_envelope(path: str, params: dict[str, str]) -> None:
    with LoopringSandbox(accounts=1, nfts_per_account=2) as sandbox:
        chain = Chain(sandbox.url, sandbox.api_key)
        account_id = str(sandbox.accounts[0]["accountId"])
        query = {k: v.replace("{id}", account_id) for k, v in params.items()}
        response = chain.session.get(sandbox.url + path, params=query, timeout=10)
        assert response.status_code == 400, response.text
        assert response.json()["resultInfo"]["code"] in (100001, 101002)


def test_history_and_holders_need_the_key_and_public_endpoints_do_not() -> None:
    with LoopringSandbox(accounts=1, nfts_per_account=2) as sandbox:
        chain = Chain(sandbox.url, "wrong")
        for path in ("/api/v3/user/nft/trades", "/api/v3/nft/info/nftHolders"):
            response = chain.session.get(sandbox.url + path, timeout=10)
            assert response.json()["resultInfo"]["code"] == 104002
        assert chain.get("/api/v3/block/getBlock")["blockId"] == 1
