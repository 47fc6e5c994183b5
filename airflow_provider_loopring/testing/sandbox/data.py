"""The data half of the sandbox's control surface: read the ledger, and change it.

Every method here is mirrored by the admin API (`admin`) and by `testing.SandboxClient`, so a
test can drive a sandbox in this process or in another one the same way. Reads return deep
copies; the mutations return the transaction as the ledger holds it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from airflow_provider_loopring.testing.sandbox.ledger import Ledger
from airflow_provider_loopring.testing.sandbox.simulate import simulate_day


class DataControls:
    """Reads and mutations of the sandbox's ledger (``self._dataset``)."""

    _dataset: Ledger

    # -- data --

    @property
    def accounts(self) -> list[dict[str, Any]]:
        """Every account, as GET /api/v3/account returns it."""
        return copy.deepcopy(self._dataset.accounts)

    def balances(
        self, account_id: int, non_zero: bool = False, metadata: bool = True
    ) -> list[dict[str, Any]]:
        """Every NFT balance of the account, in API order, with full detail by default.

        :param account_id: the account.
        :param non_zero: drop zero balances, as the API's ``nonZero`` does.
        :param metadata: keep each balance's ``metadata`` key, as the API's ``metadata`` does.
        """
        return self._dataset.snapshot_balances(account_id, non_zero, metadata)

    def collections(self, account_id: int, non_zero: bool = True) -> list[dict[str, Any]]:
        """`[{"collection": {...}, "count": n}]` as /user/collection/details lists them.

        :param account_id: the account.
        :param non_zero: leave out collections the account holds nothing of, as ``nonZero``.
        """
        return self._dataset.snapshot_collections(account_id, non_zero)

    def set_balance(self, account_id: int, nft_data: str, total: str) -> None:
        """Set what an account holds of an NFT (`total` a decimal string; "0" removes it).

        A ledger transaction, pending until :meth:`seal_block`: a mint of what is missing
        (of a new NFT under this ``nftData`` when nobody minted it), or a transfer of the
        excess to the burn account. Balances show it on the next request.

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``.
        :param total: the amount, a decimal string.
        """
        self._dataset.set_balance(account_id, nft_data, total)

    def set_nft_status(self, nft_data: str, status: str) -> None:
        """Set the `deploymentStatus` of every balance of this NFT.

        :param nft_data: the NFT's ``nftData``.
        :param status: the status, as Loopring spells it (``DEPLOYED``, ...); any string.
        """
        self._dataset.set_nft_status(nft_data, status)

    def set_collection_status(self, collection_id: int, status: str) -> None:
        """Set a collection's `deployStatus` and its NFTs' `deploymentStatus`.

        :param collection_id: the collection's id.
        :param status: the status, as Loopring spells it (``DEPLOYED``, ...); any string.
        """
        self._dataset.set_collection_status(collection_id, status)

    def schedule_nft_status(self, nft_data: str, statuses: list[str], every: int = 1) -> None:
        """Show `statuses[0]` now, the next one after every `every` responses showing the NFT.

        The last status stays once the others have been shown.

        :param nft_data: the NFT's ``nftData``.
        :param statuses: the statuses in the order to show them.
        :param every: how many responses show each status before the next.
        """
        self._dataset.schedule_nft_status(nft_data, statuses, every)

    def schedule_collection_status(
        self, collection_id: int, statuses: list[str], every: int = 1
    ) -> None:
        """As `schedule_nft_status`, for a collection and its NFTs.

        A response shows the collection when it lists it in `collections` or when one of its
        balances carries it as `collectionInfo`.

        :param collection_id: the collection's id.
        :param statuses: the statuses in the order to show them.
        :param every: how many responses show each status before the next.
        """
        self._dataset.schedule_collection_status(collection_id, statuses, every)

    # -- the ledger --

    def mint(
        self, account_id: int, amount: str = "1", collection_id: int | None = None
    ) -> dict[str, Any]:
        """Mint a new NFT into the account (pending until :meth:`seal_block`).

        :param account_id: the minter, who receives it.
        :param amount: how many, a decimal string.
        :param collection_id: its collection; None: the account's first.
        :return: the NftMint; ``nftToken.nftData`` is the new NFT's.
        """
        return copy.deepcopy(self._dataset.mint(account_id, amount, collection_id))

    def transfer(
        self, from_account_id: int, to_account_id: int | str, nft_data: str, amount: str = "1"
    ) -> dict[str, Any]:
        """Transfer an NFT; to an address with no account, opening one (as on Loopring).

        :param from_account_id: the sender.
        :param to_account_id: the receiver's account id, or an address (0x + 40 hex digits).
        :param nft_data: the NFT's ``nftData``.
        :param amount: how many, a decimal string.
        :return: the Transfer.
        """
        tx = self._dataset.transfer(from_account_id, to_account_id, nft_data, amount)
        return copy.deepcopy(tx)

    def trade(
        self,
        seller_account_id: int,
        buyer_account_id: int,
        nft_data: str,
        amount: str = "1",
        price: str = "0.01",
    ) -> dict[str, Any]:
        """Sell an NFT for ETH (a SpotTrade: order A the seller's, order B the buyer's).

        :param seller_account_id: the seller, who holds it.
        :param buyer_account_id: the buyer.
        :param nft_data: the NFT's ``nftData``.
        :param amount: how many, a decimal string.
        :param price: what the buyer pays in ETH, a decimal string.
        :return: the SpotTrade.
        """
        ledger = self._dataset
        tx = ledger.trade(seller_account_id, buyer_account_id, nft_data, amount, price)
        return copy.deepcopy(tx)

    def withdraw(self, account_id: int, nft_data: str, amount: str = "1") -> dict[str, Any]:
        """Withdraw an NFT to the account's owner on L1.

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``.
        :param amount: how many, a decimal string.
        :return: the Withdraw.
        """
        return copy.deepcopy(self._dataset.withdraw(account_id, nft_data, amount))

    def deposit(self, account_id: int, nft_data: str, amount: str = "1") -> dict[str, Any]:
        """Deposit an NFT from L1 into the account.

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``.
        :param amount: how many, a decimal string.
        :return: the Deposit.
        """
        return copy.deepcopy(self._dataset.deposit(account_id, nft_data, amount))

    def seal_block(self) -> int:
        """Seal the pending transactions into a block (a Noop when none); its id."""
        return self._dataset.seal_block()

    def simulate_day(self, change_rate: float = 0.01, seed: int | None = None) -> dict[str, Any]:
        """A day of random activity touching about ``change_rate`` of the accounts, sealed.

        :param change_rate: the share of accounts to touch, above 0 and at most 1.
        :param seed: the seed of the day's choices; None: a new one.
        :return: ``{"transactions": [...], "blockIds": [...], "accounts": [...]}``.
        """
        return copy.deepcopy(simulate_day(self._dataset, change_rate, seed))

    def set_time(self, epoch_ms: int | None) -> None:
        """Make the next transactions and blocks at this moment (epoch ms); None: now.

        The history endpoints filter by these times: a test places transactions on given
        days, or exactly at a window's edges. In-process only (not in the admin API).

        :param epoch_ms: the moment, epoch milliseconds; None: the wall clock.
        """
        self._dataset.set_time(epoch_ms)

    @property
    def head(self) -> int:
        """The id of the newest block."""
        return self._dataset.head

    def set_locked(self, account_id: int, nft_data: str, amount: str) -> None:
        """Set how much of an account's NFT is locked (no transaction, as on Loopring).

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``; the account must hold it.
        :param amount: a decimal string, at most its balance.
        """
        self._dataset.set_locked(account_id, nft_data, amount)

    def set_pending(
        self,
        account_id: int,
        nft_data: str,
        withdraw: str | None = None,
        deposit: str | None = None,
    ) -> None:
        """Set an account's NFT's ``pending`` withdrawal and/or deposit (no transaction).

        :param account_id: the account.
        :param nft_data: the NFT's ``nftData``; the account must hold it.
        :param withdraw: the pending withdrawal, a decimal string; None leaves it.
        :param deposit: the pending deposit, a decimal string; None leaves it.
        """
        self._dataset.set_pending(account_id, nft_data, withdraw, deposit)

    @property
    def quirks(self) -> list[str]:
        """The readings of the API answered with where the sources disagree (sorted)."""
        return sorted(self._dataset.quirks)

    def set_quirks(self, quirks: Iterable[str]) -> None:
        """Answer with these readings (``mints_key_transfers``, ``holders_total_is_page``,
        ``history_oldest_first``, ``blocks_hide_receivers``); every other endpoint as the
        docs show. Empty: the docs'.

        :param quirks: the quirk names.
        """
        self._dataset.set_quirks(quirks)
