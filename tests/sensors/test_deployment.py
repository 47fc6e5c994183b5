"""The verdict the sensors and the trigger share (`_core.verdicts`): pure."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_loopring._core.selections import (
    CollectionSelection,
    NftSelection,
    check_status_sets,
    check_statuses,
    selection_from_dict,
)
from airflow_provider_loopring._core.verdicts import (
    DONE,
    FAILED,
    WAITING,
    check_event,
    event,
    judge,
)
from airflow_provider_loopring.exceptions import LoopringInvalidParameterError
from airflow_provider_loopring.models import CollectionBalance, NftBalance

TOKEN = "0x" + "aa" * 20
OTHER_TOKEN = "0x" + "bb" * 20
TARGETS, FAILURES = ("DEPLOYED",), ("DEPLOY_FAILED",)


def nft_data(n: int) -> str:
    return f"0x{n:064x}"


def balance(n: int, status: str | None, token: str = TOKEN) -> NftBalance:
    raw: dict[str, Any] = {"accountId": 10001, "tokenId": n, "nftData": nft_data(n)}
    raw["tokenAddress"] = token
    if status is not None:
        raw["deploymentStatus"] = status
    return NftBalance.from_api(raw)


def held(collection_id: int, status: str, contract: str = TOKEN) -> CollectionBalance:
    collection = {"id": collection_id, "contractAddress": contract, "deployStatus": status}
    return CollectionBalance.from_api({"collection": collection, "count": 1})


ALL_OF_ACCOUNT = NftSelection.build(account_id=10001)


def test_done_when_every_selected_nft_is_in_a_target_status():
    verdict = judge(
        ALL_OF_ACCOUNT, [balance(1, "DEPLOYED"), balance(2, "DEPLOYED")], TARGETS, FAILURES, {}
    )
    assert verdict.state == DONE
    assert verdict.records == [
        {"nftData": nft_data(n), "tokenAddress": TOKEN, "deploymentStatus": "DEPLOYED"}
        for n in (1, 2)
    ]
    assert verdict.statuses == {nft_data(1): "DEPLOYED", nft_data(2): "DEPLOYED"}


def test_transitions_are_changes_since_the_last_check_only():
    fetched = [balance(1, "DEPLOYING"), balance(2, "NOT_DEPLOYED"), balance(3, "DEPLOYED")]
    last_seen = {nft_data(1): "NOT_DEPLOYED", nft_data(2): "NOT_DEPLOYED"}

    verdict = judge(ALL_OF_ACCOUNT, fetched, TARGETS, FAILURES, last_seen)

    assert verdict.state == WAITING
    assert verdict.transitions == [f"NFT {nft_data(1)} NOT_DEPLOYED -> DEPLOYING"]
    assert "Waiting for 2 of 3" in verdict.message
    assert "1 DEPLOYING, 1 NOT_DEPLOYED" in verdict.message
    again = judge(ALL_OF_ACCOUNT, fetched, TARGETS, FAILURES, verdict.statuses)
    assert again.transitions == []


def test_a_failure_status_fails_even_while_others_are_pending():
    fetched = [balance(1, "NOT_DEPLOYED"), balance(2, "DEPLOY_FAILED")]

    verdict = judge(ALL_OF_ACCOUNT, fetched, TARGETS, FAILURES, {})

    assert verdict.state == FAILED
    assert f"NFT {nft_data(2)} is DEPLOY_FAILED" in verdict.message
    assert "NFTs of account 10001" in verdict.message
    assert [r["nftData"] for r in verdict.records] == [nft_data(2)]


def test_named_nfts_must_all_be_held():
    wanted = NftSelection.build(account_id=10001, nft_datas=[nft_data(1), nft_data(2)])

    verdict = judge(wanted, [balance(1, "DEPLOYED"), balance(9, "NOT_DEPLOYED")], TARGETS, (), {})

    assert verdict.state == WAITING
    assert f"1 not held yet: {nft_data(2)}" in verdict.message
    assert set(verdict.statuses) == {nft_data(1)}  # nft 9 is not selected


def test_nothing_matching_yet_is_a_wait_that_says_so():
    by_token = NftSelection.build(address="0x" + "cd" * 20, token_addrs="0x" + "BB" * 20)

    verdict = judge(by_token, [balance(1, "DEPLOYED")], TARGETS, FAILURES, {})

    assert verdict.state == WAITING
    assert verdict.message == (
        f"Nothing matches NFTs of address 0x{'cd' * 20} with tokenAddress in "
        f"[{OTHER_TOKEN}] yet; waiting for it to appear."
    )


@pytest.mark.parametrize(
    ("status", "shown"), [("REDEPLOY_QUEUED", "REDEPLOY_QUEUED"), (None, "no status")]
)
def test_an_unknown_or_missing_status_waits_and_warns_once(status, shown):
    verdict = judge(ALL_OF_ACCOUNT, [balance(1, status)], ("DEPLOYED",), FAILURES, {})
    assert verdict.state == WAITING
    assert verdict.warnings == [
        f"NFT {nft_data(1)} has a deployment status this provider does not know: {shown}; "
        "it counts as neither done nor failed, still waiting."
    ]
    again = judge(ALL_OF_ACCOUNT, [balance(1, status)], TARGETS, FAILURES, verdict.statuses)
    assert again.warnings == []


def test_collection_by_id_or_by_contract():
    fetched = [held(5, "DEPLOYING"), held(6, "DEPLOYED", OTHER_TOKEN)]
    by_id = CollectionSelection.build(account_id=10001, collection_id="5")
    by_contract = CollectionSelection.build(account_id=10001, contract_address=OTHER_TOKEN)

    waiting = judge(by_id, fetched, TARGETS, FAILURES, {"5": "NOT_DEPLOYED"})
    done = judge(by_contract, fetched, TARGETS, FAILURES, {})

    assert waiting.state == WAITING
    assert waiting.transitions == [f"collection 5 ({TOKEN}) NOT_DEPLOYED -> DEPLOYING"]
    assert done.state == DONE
    assert by_contract.returned(done.records) == {
        "id": 6,
        "contractAddress": OTHER_TOKEN,
        "deployStatus": "DEPLOYED",
    }


def test_a_contract_shared_by_two_collections_is_ambiguous():
    by_contract = CollectionSelection.build(account_id=10001, contract_address=TOKEN)

    verdict = judge(by_contract, [held(5, "DEPLOYED"), held(7, "DEPLOYED")], TARGETS, (), {})

    assert verdict.state == FAILED
    assert "collections 5, 7 share that contract" in verdict.message
    assert "collection_id" in verdict.message


def test_statuses_read_like_loopring_writes_them():
    assert check_statuses(" deployed,DEPLOYING , deployed", "x") == ("DEPLOYED", "DEPLOYING")
    assert check_statuses(None, "x") == ()
    assert check_status_sets("DEPLOYED", None) == (("DEPLOYED",), ())
    with pytest.raises(LoopringInvalidParameterError, match="NOT_DEPLOYED, DEPLOYING, DEPLOYED"):
        check_statuses(["DEPLOYED", "GONE"], "target_statuses")


def test_selections_survive_their_dict_form():
    for selection in (
        NftSelection.build(address="0x" + "CD" * 20, nft_datas=f"{nft_data(1)},{nft_data(2)}"),
        CollectionSelection.build(account_id="10001", contract_address="0x" + "A" * 40),
    ):
        assert selection_from_dict(selection.to_dict()) == selection


def test_events_written_are_events_read():
    written = event("success", "done", [{"id": 1}], ["x A -> B"])
    assert check_event(written) == written
    assert check_event(event("timeout", "late")) == {
        "status": "timeout",
        "message": "late",
        "records": [],
        "transitions": [],
        "final": False,
    }
    # An event of a trigger from before "final" existed reads as not final.
    old = {"status": "error", "message": "m", "records": [], "transitions": []}
    assert check_event(old)["final"] is False
    assert check_event(event("error", "no key", final=True))["final"] is True
