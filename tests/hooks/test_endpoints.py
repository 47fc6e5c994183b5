"""Endpoints as declarations: the hook's generic methods serve any of them; the old names warn."""

from __future__ import annotations

import asyncio
import warnings

import pytest

from airflow_provider_loopring import _core as core
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.hooks.loopring import BackoffPolicy, LoopringHook
from airflow_provider_loopring.models import Account, CollectionBalance, NftBalance

FAST = core.BackoffPolicy(max_retries=3, backoff=0.01, max_backoff=0.05)


@pytest.fixture
def hook(sandbox):
    return LoopringHook(backoff=FAST)


@pytest.mark.loopring_sandbox(accounts=2, nfts_per_account=70, collections_per_account=3)
class TestGenericMethods:
    def test_iterate_over_a_declaration_is_what_the_named_method_gives(self, sandbox, hook):
        account_id = sandbox.accounts[0]["accountId"]
        generic = list(hook.iterate(core.NFT_BALANCES, account_id=account_id, page_size=20))
        named = list(hook.iter_nft_balances(account_id=account_id, page_size=20))
        assert [b.to_dict() for b in generic] == [b.to_dict() for b in named]
        assert all(isinstance(b, NftBalance) for b in generic)
        expected = sandbox.balances(account_id, non_zero=True, metadata=False)
        assert [b.to_dict() for b in generic] == expected

    def test_the_async_twins_give_the_same(self, sandbox, hook):
        account = sandbox.accounts[1]

        async def both():
            listing = hook.aiterate(core.COLLECTION_BALANCES, address=account["owner"])
            items = [item async for item in listing]
            page = await hook.aget(core.COLLECTION_BALANCES, account_id=account["accountId"])
            await hook.aclose()
            return items, page

        items, page = asyncio.run(both())
        assert all(isinstance(item, CollectionBalance) for item in items)
        assert [c.to_dict() for c in items] == [c.to_dict() for c in page.items]
        assert len(items) == page.total_num > 0

    def test_get_of_an_unpaged_endpoint_is_its_model(self, sandbox, hook):
        account = sandbox.accounts[0]
        got = hook.get(core.ACCOUNT, address=account["owner"])
        assert isinstance(got, Account)
        assert got.account_id == account["accountId"]

    def test_requests_sent_counts_every_request(self, sandbox, hook):
        account_id = sandbox.accounts[0]["accountId"]
        sandbox.clear_requests()
        list(hook.iter_nft_balances(account_id=account_id, page_size=25))
        assert hook.requests_sent == len(sandbox.requests) == 3  # 70 NFTs, 25 a page


class TestDeclarations:
    @pytest.mark.parametrize(
        ("endpoint", "args", "parameter"),
        [
            (
                core.NFT_BALANCES,
                {"account_id": 1, "token_address": "0x" + "1" * 40},
                "token_address",
            ),
            (core.COLLECTION_BALANCES, {"account_id": 1, "metadata": True}, "metadata"),
            (core.ACCOUNT, {"account_id": 1, "offset": 3}, "offset"),
        ],
    )
    def test_an_argument_the_endpoint_does_not_declare_is_named(self, endpoint, args, parameter):
        with pytest.raises(LoopringInvalidParameterError) as caught:
            endpoint.request(**args)
        assert caught.value.parameter == parameter

    def test_a_listing_checks_page_size_and_max_pages_by_their_names(self):
        for kwargs, parameter in (
            ({"page_size": 51}, "page_size"),
            ({"max_pages": 0}, "max_pages"),
        ):
            with pytest.raises(LoopringInvalidParameterError) as caught:
                core.NFT_BALANCES.listing(account_id=1, **kwargs)
            assert caught.value.parameter == parameter
        with pytest.raises(LoopringInvalidParameterError, match="a paged endpoint"):
            core.ACCOUNT.listing(account_id=1)

    def test_the_list_key_is_the_page_models(self):
        assert core.NFT_BALANCES.list_key == "data"
        assert core.COLLECTION_BALANCES.list_key == "collections"
        assert core.ACCOUNT.list_key is None

    def test_an_address_the_endpoint_cannot_take_is_left_to_resolve(self):
        address = "0x" + "a" * 40
        request, resolve = core.COLLECTION_BALANCES.request(address=address)
        assert (resolve, "address" in request.params) == (address, False)
        request, resolve = core.NFT_BALANCES.request(address=address)
        assert (resolve, request.params["address"]) == (None, address)


class TestOldNames:
    """The HTTP backoff was called retry_policy / RetryPolicy, as Airflow's task retry policy is."""

    def test_retry_policy_still_works_and_warns(self):
        with pytest.warns(DeprecationWarning, match=r"LoopringHook\(backoff=\.\.\.\)"):
            hook = LoopringHook(retry_policy=FAST)
        with pytest.warns(DeprecationWarning, match="LoopringHook.backoff"):
            assert hook.retry_policy is FAST
        assert hook.backoff is FAST

    @pytest.mark.parametrize(
        "module", ["airflow_provider_loopring._core", "airflow_provider_loopring.hooks.loopring"]
    )
    def test_the_old_class_name_still_imports_and_warns(self, module):
        imported = __import__(module, fromlist=["RetryPolicy"])
        with pytest.warns(DeprecationWarning, match="BackoffPolicy"):
            old = imported.RetryPolicy
        assert old is BackoffPolicy is core.BackoffPolicy

    def test_the_new_names_do_not_warn(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            LoopringHook(backoff=FAST)
            assert core.BackoffPolicy is BackoffPolicy
