"""The seeded world: accounts, collections and the NFTs minted in the first blocks, made lazily.

Nothing here changes after it is made. Each account, collection and account's NFTs is made
the first time it is asked for, from a random generator of its own, so the order of requests
never changes the data and 100,000 accounts cost nothing until they are used. Ids are laid out
by formula (a stride plus a seeded jitter) so that an id leads back to its position without an
index; only a lookup by ``nftData`` or owner address needs one, built in one pass on demand.
"""

from __future__ import annotations

import hashlib
import random
import threading
from typing import Any

from airflow_provider_loopring.testing.sandbox.generate import (
    make_account,
    make_balance,
    make_collection,
    make_mint,
    nft_data_of,
    nft_identities,
)

STRIDE = 40  # ids of neighbouring accounts (and collections) are 1 to 40 apart, as on Loopring
SHARED_EVERY = 10  # every tenth NFT of an account is its neighbour's, held by both
INDEX_CHUNK = 500  # accounts indexed per turn of the lock: the server answers in between


def _jitter(seed: int, what: str, index: int) -> int:
    digest = hashlib.blake2b(f"{seed}:{what}:{index}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % STRIDE


class Seeded:
    """The seeded accounts, collections and first holdings of one data set.

    :param accounts: how many accounts, at least 1.
    :param nfts_per_account: NFT balances each account starts with, zero ones included.
    :param per_account: collections each account owns, at least 1.
    :param seed: the seed: the same seed, the same data.
    """

    def __init__(self, accounts: int, nfts_per_account: int, per_account: int, seed: int) -> None:
        self.size = accounts
        self.nfts = nfts_per_account
        self.per_account = per_account
        self.seed = seed
        self.first_id = 10_000 + random.Random(f"{seed}:first-account").randrange(5_000)
        self._lock = threading.Lock()
        self._accounts: dict[int, dict[str, Any]] = {}
        self._collections: dict[int, dict[str, Any]] = {}
        self._mints: dict[int, list[dict[str, Any]]] = {}
        self._index: dict[str, tuple[int, int]] = {}
        self._owners: dict[str, int] = {}
        self._addresses: dict[str, int] = {}  # collectionAddress: position
        self._indexed = threading.Event()
        self._indexing = threading.Lock()

    # -- accounts and collections --

    def account_id(self, index: int) -> int:
        """The id of the account at ``index`` (from 0).

        :param index: the account's position.
        """
        return self.first_id + index * STRIDE + _jitter(self.seed, "account", index)

    def index_of(self, account_id: int) -> int | None:
        """The position of a seeded account, or None when the id is not one.

        :param account_id: an account id.
        """
        index, _ = divmod(account_id - self.first_id, STRIDE)
        if 0 <= index < self.size and self.account_id(index) == account_id:
            return index
        return None

    def account(self, index: int) -> dict[str, Any]:
        """The account at ``index``, made on first use (a live dict: do not mutate).

        :param index: the account's position.
        """
        found = self._accounts.get(index)
        if found is None:
            rng = random.Random(f"{self.seed}:account:{index}")
            found = self._accounts.setdefault(index, make_account(rng, self.account_id(index)))
        return found

    def collection_id(self, position: int) -> int:
        """The id of the collection at ``position`` (from 0; account i owns i*per .. +per).

        :param position: the collection's position.
        """
        return 100 + position * STRIDE + _jitter(self.seed, "collection", position)

    def collection_position(self, collection_id: int) -> int | None:
        """The position of a seeded collection, or None when the id is not one.

        :param collection_id: a collection id.
        """
        position, _ = divmod(collection_id - 100, STRIDE)
        count = self.size * self.per_account
        if 0 <= position < count and self.collection_id(position) == collection_id:
            return position
        return None

    def collection(self, position: int) -> dict[str, Any]:
        """The collection at ``position``, made on first use (a live dict, shared by rows).

        :param position: the collection's position.
        """
        found = self._collections.get(position)
        if found is None:
            owner = self.account(position // self.per_account)["owner"]
            found = self._make_collection(position, owner)
            found = self._collections.setdefault(position, found)
        return found

    def _make_collection(self, position: int, owner: str) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}:collection:{position}")
        return make_collection(rng, self.collection_id(position), position, owner)

    # -- the NFTs minted in the first blocks --

    def neighbour(self, index: int) -> int:
        """The account whose NFTs ``index`` shares (the next one, round the end).

        :param index: an account's position.
        """
        return (index + 1) % self.size

    def is_shared(self, position: int) -> bool:
        """Whether slot ``position`` of every account holds its neighbour's NFT (the same
        slots in every account, so that an NFT's holders follow from where it was minted).

        :param position: a slot, from 0.
        """
        return self.size > 1 and position % SHARED_EVERY == SHARED_EVERY - 1

    def mints(self, index: int) -> list[dict[str, Any]]:
        """The NFTs account ``index`` mints, by position (made on first use; live dicts).

        The one at a shared position is made but never minted: that slot holds the
        neighbour's NFT instead.

        :param index: the minting account's position.
        """
        found = self._mints.get(index)
        if found is None:
            rng = random.Random(f"{self.seed}:mints:{index}")
            owner = self.account(index)["owner"]
            first = index * self.per_account
            ids = nft_identities(self.seed, index, self.nfts)
            found = [
                make_mint(rng, k, owner, self.collection(first + k % self.per_account), ids[k])
                for k in range(self.nfts)
            ]
            found = self._mints.setdefault(index, found)
        return found

    def first_holdings(self, index: int) -> list[tuple[dict[str, Any], int]]:
        """Account ``index``'s balances as its first block leaves them, by slot, each with the
        position of the account that minted its NFT. Fresh dicts on every call.

        :param index: the account's position.
        """
        rng = random.Random(f"{self.seed}:balances:{index}")
        account_id = self.account(index)["accountId"]
        own, neighbour = self.mints(index), self.neighbour(index)
        rows = []
        for k in range(self.nfts):
            minter = neighbour if self.is_shared(k) else index
            mint = self.mints(neighbour)[k - 1] if minter != index else own[k]
            row_id = index * self.nfts + k + 1
            rows.append((make_balance(rng, row_id, account_id, k, mint), minter))
        return rows

    def minted_positions(self, index: int) -> list[int]:
        """The positions of account ``index``'s NFTs that are minted (held by someone).

        :param index: the minting account's position.
        """
        return [k for k in range(self.nfts) if not self.is_shared(k)]

    def holders_of(self, index: int, position: int) -> list[int]:
        """The accounts the first blocks mint NFT (``index``, ``position``) into.

        :param index: the minting account's position.
        :param position: the NFT's position among its mints.
        """
        holders = [index]
        shared_by = (index - 1) % self.size  # the account whose neighbour ``index`` is
        if self.is_shared(position + 1) and position + 1 < self.nfts:
            holders.append(shared_by)
        return holders

    # -- lookups that need an index --

    def find_nft(self, nft_data: str) -> tuple[int, int] | None:
        """(minting account's position, position) of a seeded NFT, or None.

        :param nft_data: the NFT's ``nftData``, lowercase.
        """
        self.build_index()
        return self._index.get(nft_data)

    def find_owner(self, owner: str) -> int | None:
        """The position of the seeded account of this owner address, or None.

        :param owner: the address, lowercase.
        """
        self.build_index()
        return self._owners.get(owner)

    def find_collection(self, collection_address: str) -> int | None:
        """The position of the seeded collection at this ``collectionAddress``, or None.

        :param collection_address: its ``collectionAddress``, lowercase.
        """
        self.build_index()
        return self._addresses.get(collection_address)

    def build_index(self) -> None:
        """Index every seeded NFT by ``nftData`` and account by owner; once, in chunks.

        Safe from several threads: one builds, the others wait for it. Accounts and
        collections made only to be indexed are not kept, so memory holds the index alone.
        """
        if self._indexed.is_set():
            return
        with self._indexing:
            if self._indexed.is_set():
                return
            for start in range(0, self.size, INDEX_CHUNK):
                nfts: dict[str, tuple[int, int]] = {}
                owners: dict[str, int] = {}
                addresses: dict[str, int] = {}
                for index in range(start, min(start + INDEX_CHUNK, self.size)):
                    self._index_account(index, nfts, owners, addresses)
                with self._lock:
                    self._index.update(nfts)
                    self._owners.update(owners)
                    self._addresses.update(addresses)
            self._indexed.set()

    def _index_account(
        self,
        index: int,
        nfts: dict[str, tuple[int, int]],
        owners: dict[str, int],
        addresses: dict[str, int],
    ) -> None:
        account = self._accounts.get(index)
        if account is None:
            rng = random.Random(f"{self.seed}:account:{index}")
            account = make_account(rng, self.account_id(index))
        owners[account["owner"].lower()] = index
        first = index * self.per_account
        contracts = []
        for position in range(first, first + self.per_account):
            collection = self._collections.get(position) or self._make_collection(
                position, account["owner"]
            )
            contracts.append((collection["nftType"], collection["contractAddress"]))
            addresses[collection["collectionAddress"].lower()] = position
        ids = nft_identities(self.seed, index, self.nfts)
        for k in self.minted_positions(index):
            nft_type, contract = contracts[k % self.per_account]
            nft_id, royalty = ids[k]
            nft_data = nft_data_of(account["owner"], nft_type, contract, nft_id, royalty)
            nfts[nft_data] = (index, k)
