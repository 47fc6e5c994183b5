"""The ledger's mutations: each builds one transaction, moves the balances it names and
hands it to the chain; none changes a balance any other way.

`set_balance` keeps its old meaning for callers and is now a mint of what is missing or a
transfer of the excess to the burn account.
"""

from __future__ import annotations

import random
from typing import Any

import airflow_provider_loopring.testing.sandbox.txs as txs
from airflow_provider_loopring.testing.sandbox.chain import Chain
from airflow_provider_loopring.testing.sandbox.dataset import BURN_ACCOUNT_ID
from airflow_provider_loopring.testing.sandbox.generate import make_mint, nft_identities


def amount_of(value: str) -> int:
    """An amount given as a decimal string, checked: above 0.

    :param value: the amount (``"1"``).
    :raises ValueError: not a decimal string above 0.
    """
    if not (isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0):
        raise ValueError(f"amount must be a decimal string above 0, got {value!r}")
    return int(value)


class Ledger(Chain):
    """The sandbox's data: a `Chain` and the mutations a test makes on it.

    Takes `Chain`'s arguments. Each mutation raises KeyError for an unknown account, NFT or
    collection and ValueError for a bad amount or a balance too small, before anything moves.
    """

    # -- mutations --

    def _account(self, account_id: int | str) -> dict[str, Any]:
        if isinstance(account_id, str):
            return self.open_account(account_id)
        found = self.account(account_id)
        if found is None:
            raise KeyError(f"no account with id {account_id}")
        return found

    def _known_nft(self, nft_data: str) -> dict[str, Any]:
        nft = self.nft(nft_data)
        if nft is None:
            raise KeyError(f"no NFT with nftData {nft_data}")
        return nft

    def mint(
        self, account_id: int, amount: str = "1", collection_id: int | None = None
    ) -> dict[str, Any]:
        """Mint a new NFT into the account, of ``collection_id`` (default: its first).

        :param account_id: the minter, who receives it.
        :param amount: how many, a decimal string.
        :param collection_id: the collection; None: the account's first (opened accounts
            own none: give one).
        :return: the NftMint as the ledger holds it (its ``nftToken.nftData``: the NFT).
        """
        count = amount_of(amount)
        with self.lock:
            account = self._account(account_id)
            collection = self._collection_for(account, collection_id)
            serial = self._next_id
            rng = random.Random(f"{self.seed}:live-mint:{serial}")
            identity = nft_identities(self.seed * 1_000_003 + serial, 0, 1)[0]
            nft = make_mint(rng, serial, account["owner"], collection, identity)
            nft["originalAmount"] = count
            self.live_nfts[nft["nftData"]] = nft
            return self._mint_into(account, account, nft, count)

    def _collection_for(self, account: dict[str, Any], collection_id: int | None) -> dict[str, Any]:
        if collection_id is None:
            index = self.seeded.index_of(account["accountId"])
            if index is None:
                raise ValueError(f"account {account['accountId']} owns no collection: give one")
            return self.seeded.collection(index * self.seeded.per_account)
        found = self.collection(collection_id)
        if found is None:
            raise KeyError(f"no collection with id {collection_id}")
        return found

    def _mint_into(
        self, minter: dict[str, Any], to: dict[str, Any], nft: dict[str, Any], count: int
    ) -> dict[str, Any]:
        row = self.credit(to["accountId"], nft, count)
        tx = txs.nft_mint(minter, to, row, count, self._next_id % 2**20)
        return self.accept(tx).tx

    def transfer(
        self, from_account_id: int, to_account_id: int | str, nft_data: str, amount: str = "1"
    ) -> dict[str, Any]:
        """Transfer an NFT; to an address with no account, opening one (as on Loopring).

        :param from_account_id: the sender.
        :param to_account_id: the receiver's account id, or an address (0x + 40 hex).
        :param nft_data: the NFT's ``nftData``.
        :param amount: how many, a decimal string.
        :return: the Transfer as the ledger holds it.
        """
        count = amount_of(amount)
        with self.indexed_lock():
            sender = self._account(from_account_id)
            nft = self._known_nft(nft_data)
            to = self._account(to_account_id)
            row = self.debit(sender["accountId"], nft["nftData"], count)
            to_row = self.credit(to["accountId"], nft, count)
            token = {"tokenId": row["tokenId"], "nftData": nft["nftData"], "amount": str(count)}
            tx = txs.transfer(sender, to, token, to_row["tokenId"], self._next_id % 2**20)
            return self.accept(tx).tx

    def trade(
        self,
        seller_account_id: int,
        buyer_account_id: int,
        nft_data: str,
        amount: str = "1",
        price: str = "0.01",
    ) -> dict[str, Any]:
        """The seller sells an NFT to the buyer for ``price`` ETH (a SpotTrade).

        :param seller_account_id: the seller, who holds it.
        :param buyer_account_id: the buyer.
        :param nft_data: the NFT's ``nftData``.
        :param amount: how many, a decimal string.
        :param price: the price of all of them in ETH, a decimal string.
        :return: the SpotTrade as the ledger holds it.
        """
        count, wei = amount_of(amount), txs.price_wei(price)
        with self.indexed_lock():
            seller, buyer = self._account(seller_account_id), self._account(buyer_account_id)
            if seller is buyer:
                raise ValueError("an account cannot trade with itself")
            nft = self._known_nft(nft_data)
            row = self.debit(seller["accountId"], nft["nftData"], count)
            to_row = self.credit(buyer["accountId"], nft, count)
            storage = self._next_id % 2**20
            return self.accept(txs.spot_trade(row, to_row, count, wei, (storage, storage + 1))).tx

    def withdraw(self, account_id: int, nft_data: str, amount: str = "1") -> dict[str, Any]:
        """Withdraw an NFT from L2 to the account's owner on L1.

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``.
        :param amount: how many, a decimal string.
        :return: the Withdraw as the ledger holds it.
        """
        count = amount_of(amount)
        with self.indexed_lock():
            account = self._account(account_id)
            row = self.debit(account["accountId"], self._known_nft(nft_data)["nftData"], count)
            token = {"tokenId": row["tokenId"], "nftData": row["nftData"], "amount": str(count)}
            return self.accept(txs.withdraw(account, token, self._next_id % 2**20)).tx

    def deposit(self, account_id: int, nft_data: str, amount: str = "1") -> dict[str, Any]:
        """Deposit an NFT from L1 into the account (the same ``nftData``: see the note in
        docs/sandbox.md on deposited NFTs).

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``.
        :param amount: how many, a decimal string.
        :return: the Deposit as the ledger holds it.
        """
        count = amount_of(amount)
        with self.indexed_lock():
            account = self._account(account_id)
            row = self.credit(account["accountId"], self._known_nft(nft_data), count)
            token = {"tokenId": row["tokenId"], "nftData": row["nftData"], "amount": str(count)}
            return self.accept(txs.deposit(account, token)).tx

    def token_transfer(
        self, from_account_id: int, to_account_id: int, amount: int
    ) -> dict[str, Any]:
        """An LRC transfer: a block transaction that moves no NFT.

        :param from_account_id: the sender.
        :param to_account_id: the receiver.
        :param amount: in LRC's smallest unit.
        """
        with self.lock:
            sender, to = self._account(from_account_id), self._account(to_account_id)
            token = {"tokenId": txs.LRC, "amount": str(amount)}
            return self.accept(txs.transfer(sender, to, token, txs.LRC, self._next_id % 2**20)).tx

    def account_update(self, account_id: int) -> dict[str, Any]:
        """An AccountUpdate (a new L2 key): a block transaction that moves no NFT.

        :param account_id: the account.
        """
        with self.lock:
            account = self._account(account_id)
            account["keyNonce"] = int(account["keyNonce"]) + 1
            return self.accept(txs.account_update(account, int(account["nonce"]))).tx

    def set_balance(self, account_id: int, nft_data: str, total: str) -> None:
        """Make an account hold ``total`` of an NFT: a mint of what is missing, or a transfer
        of the excess to the burn account.

        An NFT nobody minted yet is minted by the account itself, in its first collection,
        under the ``nftData`` given.

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``, in any case.
        :param total: the amount, a decimal string ("0" empties it).
        :raises ValueError: ``total`` is not a decimal string.
        """
        if not (isinstance(total, str) and total.isascii() and total.isdigit()):
            raise ValueError(f"total must be a decimal string, got {total!r}")
        with self.indexed_lock():
            account = self._account(account_id)
            key = nft_data.lower()
            row = self.row(account_id, key)
            held = 0 if row is None else int(row["total"])
            wanted = int(total)
            if wanted < held:
                if row is not None and int(row["locked"]) > wanted:
                    row["locked"] = str(wanted)
                self.transfer(account_id, BURN_ACCOUNT_ID, key, str(held - wanted))
            elif wanted > held:
                nft = self.nft(key)
                if nft is None:
                    nft = self._invent(account, key)
                    nft["originalAmount"] = wanted - held
                minter = self.account_by_owner(nft["minter"]) or account
                self._mint_into(minter, account, nft, wanted - held)

    def _invent(self, account: dict[str, Any], nft_data: str) -> dict[str, Any]:
        collection = (
            self._collection_for(account, None)
            if self.seeded.index_of(account["accountId"]) is not None
            else self.seeded.collection(0)
        )
        rng = random.Random(f"{self.seed}:minted:{account['accountId']}:{nft_data}")
        identity = (rng.getrandbits(256), 0)
        nft = make_mint(rng, 0, account["owner"], collection, identity)
        nft["nftData"] = nft_data
        self.live_nfts[nft_data] = nft
        return nft

    def collection_nfts(self, collection_id: int) -> list[tuple[dict[str, Any], int]]:
        """Every NFT minted in a collection, with what its first mint made; seeded first.

        :param collection_id: the collection's id.
        """
        seeded = self.seeded
        found = []
        position = seeded.collection_position(collection_id)
        if position is not None:
            index, per = divmod(position, seeded.per_account)
            first = seeded.first_holdings(index)
            mints = seeded.mints(index)
            for k in seeded.minted_positions(index):
                if k % seeded.per_account == per:
                    found.append((mints[k], max(int(first[k][0]["total"]), 1)))
        with self.lock:
            found += [
                (nft, nft["originalAmount"])
                for nft in self.live_nfts.values()
                if nft["collectionInfo"]["id"] == collection_id
            ]
        return found
