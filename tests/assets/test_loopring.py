"""The loopring:// asset scheme through Airflow's own Asset: registered, normalised, strict."""

from __future__ import annotations

import pytest
from airflow.sdk import Asset

from airflow_provider_loopring import get_provider_info
from airflow_provider_loopring.assets.loopring import asset_uri, create_asset

CANONICAL = "loopring://api3.loopring.io/account/11329/collection/270"


def test_the_scheme_is_registered_with_its_normaliser_and_factory() -> None:
    (entry,) = get_provider_info()["asset-uris"]
    assert entry["schemes"] == ["loopring"]
    assert entry["handler"] == "airflow_provider_loopring.assets.loopring.sanitize_uri"
    assert entry["factory"] == "airflow_provider_loopring.assets.loopring.create_asset"


@pytest.mark.parametrize(
    "spelling",
    [
        CANONICAL,
        "LOOPRING://API3.Loopring.IO/account/11329/collection/270",
        "loopring://api3.loopring.io:443/Account/011329/Collection/0270/",
        "loopring://api3.loopring.io/account/11329/collection/270#top",
    ],
)
def test_every_spelling_is_the_same_asset_uri(spelling: str) -> None:
    assert Asset(spelling).uri == CANONICAL
    assert Asset(name="deployments", uri=spelling) == Asset(name="deployments", uri=CANONICAL)


def test_accounts_and_nfts_have_uris_too() -> None:
    data = "0x" + "AB" * 32
    assert Asset("loopring://uat2.loopring.io:8443/account/7").uri == (
        "loopring://uat2.loopring.io:8443/account/7"
    )
    assert asset_uri(account_id=7, nft_data=data) == (
        f"loopring://api3.loopring.io/account/7/nft/{data.lower()}"
    )


@pytest.mark.parametrize(
    "uri",
    [
        "loopring:///account/11329",
        "loopring://api3.loopring.io/",
        "loopring://api3.loopring.io/account/abc",
        "loopring://api3.loopring.io/account/1/collection/x",
        "loopring://api3.loopring.io/account/1/nft/0x12",
        "loopring://api3.loopring.io/account/1/token/5",
        "loopring://api3.loopring.io/account/1?collection=2",
        "loopring://api3.loopring.io:notaport/account/1",
    ],
)
def test_anything_else_is_refused_with_the_expected_form(uri: str) -> None:
    with pytest.raises(ValueError, match="Loopring asset"):
        Asset(uri)


def test_the_factory_names_the_asset_by_its_one_uri() -> None:
    asset = create_asset(account_id=11329, collection_id=270, extra={"team": "nft"})
    assert (asset.name, asset.uri, asset.extra) == (CANONICAL, CANONICAL, {"team": "nft"})
    assert create_asset(account_id=11329, collection_id=270) == Asset(CANONICAL)
