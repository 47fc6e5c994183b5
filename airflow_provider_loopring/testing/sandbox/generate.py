"""Seeded generators of Loopring-shaped records: accounts, collections, NFTs and balances.

Every value comes from the `random.Random` passed in; field names, order and quirks follow
the responses Loopring's doc authors captured (see tests/testing/test_data/).
"""

from __future__ import annotations

import functools
import hashlib
import random
import string
import uuid
from typing import Any

DEFAULT_SEED = 1
FIRST_NFT_TOKEN_ID = 32768  # Loopring numbers the NFT slots of every account from 2**15
EXCHANGE_ADDRESS = "0x2e76EBd1c7c0C8e7c2B875b6d505a260C525d25e"
LOOPRING_FACTORY = "0xfDDA90dbCc99B3a91e3fB1292991Ba1076d9E281"
LEGACY_FACTORY = "0x25315F9878BA07221db684b7ad3676502E914894"
GME_FACTORY = "0xc852aC7aAe4b0f0a0Deb9e8A391ebA2047d80026"
GME_COLLECTION_URL = "https://api.nft.gamestop.com/getCollectionMetadata?collectionId="
CDN = "https://d12jj0pnkw1mbj.cloudfront.net"
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
EPOCH_MS = 1_660_000_000_000  # mid-2022, when Loopring's NFT collections appeared

ADJECTIVES = ("Pixel", "Lunar", "Quiet", "Neon", "Minimal", "Cosmic", "Paper", "Golden", "Odd")
NOUNS = ("Cats", "Metanauts", "Gardens", "Robots", "Waves", "Lands", "Keys", "Owls", "Frames")
UNICODE_NAMES = ("像素猫", "月光花园", "ミニマル宇宙", "Été des Pixels", "Крипто Совы")


def api_key_for_seed(seed: int) -> str:
    """The 64-character key a sandbox with this seed accepts unless it is given one.

    :param seed: the sandbox's seed.
    """
    rng = random.Random(f"{seed}:api-key")
    return "".join(rng.choices(string.ascii_letters + string.digits, k=64))


DEFAULT_API_KEY = api_key_for_seed(DEFAULT_SEED)


@functools.lru_cache(maxsize=4096)
def checksum_case(address: str) -> str:
    """Mixed-case spelling of an address, in the manner of EIP-55.

    EIP-55 hashes with Keccak-256, which the standard library lacks; SHA3-256 gives the same
    look, but a strict EIP-55 validator rejects these. Clients must compare case-insensitively.

    :param address: 0x + 40 hex digits, in any case.
    """
    hex_digits = address.lower().removeprefix("0x")
    digest = hashlib.sha3_256(hex_digits.encode()).hexdigest()
    return "0x" + "".join(
        char.upper() if char.isalpha() and int(nibble, 16) >= 8 else char
        for char, nibble in zip(hex_digits, digest, strict=False)
    )


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _address(rng: random.Random) -> str:
    return "0x" + _hex(rng, 40)


# Maps any byte to a base58 digit: random bytes become CID-looking text in one fast call.
_TO_BASE58 = bytes.maketrans(bytes(range(256)), bytes(ord(BASE58[i % 58]) for i in range(256)))


def _cid(rng: random.Random) -> str:
    return "Qm" + rng.randbytes(44).translate(_TO_BASE58).decode("ascii")


def _cdn(rng: random.Random, suffix: str = "-original") -> str:
    return f"{CDN}/{_hex(rng, 64)}{suffix}"


def make_account(rng: random.Random, account_id: int) -> dict[str, Any]:
    """An activated account, as GET /api/v3/account returns it.

    :param rng: the generator every value comes from.
    :param account_id: its id.
    """
    key_nonce = rng.randint(1, 3)
    return {
        "accountId": account_id,
        "owner": checksum_case(_address(rng)),
        "frozen": False,
        "publicKey": {"x": "0x" + _hex(rng, 64), "y": "0x" + _hex(rng, 64)},
        "tags": "",
        "nonce": rng.randint(1, 400),
        "keyNonce": key_nonce,
        "keySeed": (
            f"Sign this message to access Loopring Exchange: {EXCHANGE_ADDRESS} "
            f"with key nonce: {key_nonce - 1}"
        ),
    }


def collection_status(index: int) -> str:
    """Mostly DEPLOYED; the rule is by position so that even a tiny data set has the others.

    :param index: the collection's position in the data set, from 0.
    """
    if index % 4 == 1:
        return "NOT_DEPLOYED"
    if index % 6 == 4:
        return "DEPLOYING"
    return "DEPLOYED"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _origin(rng: random.Random, kind: str, contract: str) -> tuple[str, str, str]:
    """collectionAddress, baseUri and nftFactory, in the three forms real collections take."""
    if kind == "loopring":
        return contract, f"ipfs://0x{_hex(rng, 64)}", LOOPRING_FACTORY
    if kind == "legacy":
        return f"{contract}-0x{_hex(rng, 64)}", "", LEGACY_FACTORY
    return f"{GME_COLLECTION_URL}{_uuid(rng)}", "", GME_FACTORY


def make_collection(
    rng: random.Random, collection_id: int, index: int, owner: str
) -> dict[str, Any]:
    """One collection; `index % 3` picks the kind: loopring.io-made, legacy import, or GameStop.

    :param rng: the generator every value comes from.
    :param collection_id: its id.
    :param index: its position in the data set, from 0: it picks the kind, the status
        (:func:`collection_status`) and, now and then, a Unicode name.
    :param owner: the owner's address (lowercased for GameStop collections, as they are).
    """
    kind = ("loopring", "legacy", "gme")[index % 3]
    contract = _address(rng)
    collection_address, base_uri, factory = _origin(rng, kind, contract)
    created = EPOCH_MS + rng.randrange(30_000_000_000)
    if index % 5 == 3:
        name = f"{rng.choice(UNICODE_NAMES)} {index}"
    else:
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {index}"
    if kind == "gme":
        owner, avatar = owner.lower(), f"https://static.gstop-content.com/{_uuid(rng)}"
    else:
        avatar = f"ipfs://{_cid(rng)}"
    tile = f"ipfs://{_cid(rng)}"
    nft_type = rng.choice(("ERC1155", "ERC721")) if kind == "legacy" else "ERC1155"
    extra = {
        "isLegacy": kind != "loopring",
        "isPublic": False,
        "isCounterFactualNFT": kind != "legacy",
        "isMintable": kind == "loopring",
        "isEditable": kind != "gme",
        "isDeletable": False,
    }
    banner = avatar if rng.random() < 0.6 else ""
    return {
        "id": collection_id,
        "owner": owner,
        "name": name,
        "contractAddress": contract,
        "collectionAddress": collection_address,
        "baseUri": base_uri,
        "nftFactory": factory,
        "description": rng.choice(("", f"{name}, minted on Loopring L2.", "如标题描述\nthis")),
        "avatar": avatar,
        "banner": banner,
        "thumbnail": "",
        "tileUri": tile,
        "cached": {
            "avatar": _cdn(rng),
            "banner": _cdn(rng) if banner else "",
            "tileUri": _cdn(rng),
            "thumbnail": "",
        },
        "deployStatus": collection_status(index),
        "nftType": nft_type,
        "times": {"createdAt": created, "updatedAt": created + rng.choice((0, 86_400_000))},
        "extra": {
            "properties": extra,
            "mintChannel": "GME" if kind == "gme" else "UNKNOWN_CHANNEL",
        },
    }


def make_metadata(
    rng: random.Random, nft_id: int, token_address: str, nft_type: str, created: int
) -> dict[str, Any]:
    """An NFT's ``metadata``, as ``metadata=true`` adds it to a balance.

    :param rng: the generator every value comes from.
    :param nft_id: the NFT's id; sent as 0x + its DECIMAL digits, Loopring's quirk.
    :param token_address: the NFT's token contract (sent lowercase).
    :param nft_type: ``ERC1155`` or ``ERC721`` (sent as 1 or 0).
    :param created: when it was minted, epoch milliseconds.
    """
    image = f"ipfs://{_cid(rng)}"
    stamp = str(created + 5_000)
    edition = rng.randint(1, 500)
    return {
        "uri": f"ipfs://{_cid(rng)}",
        "base": {
            "name": f"{rng.choice(ADJECTIVES)} #{rng.randint(1, 9999)}",
            "decimals": -1,
            "description": rng.choice(("", "A sandbox NFT.", "第一个NFT\n如题")),
            "image": image,
            "properties": "",
            "localization": "",
            "createdAt": created,
            "updatedAt": created + 60_000,
        },
        "imageSize": {
            "240-240": _cdn(rng, f"{stamp}-240-240.png"),
            "332-332": _cdn(rng, f"{stamp}-332-332.png"),
            "original": _cdn(rng, f"{stamp}-original"),
        },
        "extra": {
            "imageData": "",
            "externalUrl": "",
            "attributes": f'[{{"trait_type":"Edition","value":{edition}}}]',  # JSON in a string
            "backgroundColor": "",
            "animationUrl": image if rng.random() < 0.5 else "",
            "youtubeUrl": "",
            "minter": "",
        },
        "status": 1,
        "nftType": 1 if nft_type == "ERC1155" else 0,
        "network": 0,
        "tokenAddress": token_address.lower(),
        # Loopring's quirk: "0x" followed by the DECIMAL digits of the NFT id.
        "nftId": f"0x{nft_id}",
    }


def nft_data_of(minter: str, nft_type: str, token_address: str, nft_id: int, royalty: int) -> str:
    """A stand-in for Loopring's ``nftData``: a hash of the five values Loopring hashes.

    Loopring's is Poseidon over ``[minter, nftType, tokenAddress, nftIdLo, nftIdHi,
    royaltyPercentage]`` (see loopring-endpoints.md); the standard library has no Poseidon,
    so this is BLAKE2b over the same values, cut to a SNARK field element (< 2**253). It is
    not the real value, but it is deterministic: the same NFT, the same ``nftData``.

    :param minter: the minter's address, in any case.
    :param nft_type: ``ERC1155`` or ``ERC721``.
    :param token_address: the token contract's address, in any case.
    :param nft_id: the NFT id.
    :param royalty: the royalty percentage.
    """
    kind = 0 if nft_type == "ERC1155" else 1
    text = f"{minter.lower()}|{kind}|{token_address.lower()}|{nft_id:x}|{royalty}"
    digest = hashlib.blake2b(text.encode(), digest_size=32).digest()
    return f"0x{int.from_bytes(digest, 'big') >> 3:064x}"


def nft_identities(seed: int, index: int, count: int) -> list[tuple[int, int]]:
    """``(nft_id, royalty)`` of each NFT account ``index`` mints in the seeded data.

    A generator of their own, apart from the one behind metadata, so that the ``nftData`` of
    every seeded NFT can be computed without making the rest of it (the index by nftData).

    :param seed: the data set's seed.
    :param index: the minting account's position, from 0.
    :param count: how many NFTs it mints.
    """
    rng = random.Random(f"{seed}:ids:{index}")
    # Some ids get leading zeros and are then shown without them, as the real API does.
    return [
        (rng.getrandbits(240 if k % 4 == 2 else 256), rng.choice((0, 0, 2, 5, 8, 10)))
        for k in range(count)
    ]


def make_mint(
    rng: random.Random,
    position: int,
    minter: str,
    collection: dict[str, Any],
    identity: tuple[int, int],
) -> dict[str, Any]:
    """An NFT as minted: what every holder of it shares.

    :param rng: the generator every other value comes from.
    :param position: its position among the minter's NFTs, from 0: some positions get a
        short ``nftId`` or no metadata.
    :param minter: the minter's address.
    :param collection: the collection it belongs to (from :func:`make_collection`).
    :param identity: its ``(nft_id, royalty)`` (from :func:`nft_identities`).
    """
    nft_id, royalty = identity
    short_id = position % 4 == 2
    created = collection["times"]["createdAt"] + rng.randrange(1, 2_000_000_000)
    token_address = checksum_case(collection["contractAddress"])
    metadata = make_metadata(rng, nft_id, token_address, collection["nftType"], created)
    return {
        "nftData": nft_data_of(minter, collection["nftType"], token_address, nft_id, royalty),
        "tokenAddress": token_address,
        "nftId": f"0x{nft_id:x}" if short_id else f"0x{nft_id:064x}",
        "nftType": collection["nftType"],
        "isCounterFactualNFT": collection["extra"]["properties"]["isCounterFactualNFT"],
        "metadata": None if position % 12 == 11 else metadata,
        "minter": minter.lower(),
        "royaltyPercentage": royalty,
        "collectionInfo": collection,
        "createdAt": created,
    }


def make_balance(
    rng: random.Random, row_id: int, account_id: int, position: int, mint: dict[str, Any]
) -> dict[str, Any]:
    """One account's balance of one NFT, keys in the order the API sends them.

    :param rng: the generator every value comes from.
    :param row_id: the balance's ``id``.
    :param account_id: the holder.
    :param position: the balance's position in the account, from 0: its ``tokenId`` is
        32768 + it, and some positions hold nothing, something locked or pending.
    :param mint: the NFT (from :func:`make_mint`).
    """
    if position % 8 == 5:
        total = 0  # a balance the account once held: nonZero=true hides it
    elif mint["nftType"] == "ERC721":
        total = 1
    else:
        total = rng.choice((1, 2, 5, 10, 100, 1000, 78000))
    updated = mint["createdAt"] + rng.randrange(1, 1_000_000_000)
    return {
        "id": row_id,
        "accountId": account_id,
        "tokenId": FIRST_NFT_TOKEN_ID + position,
        "nftData": mint["nftData"],
        "tokenAddress": mint["tokenAddress"],
        "nftId": mint["nftId"],
        "nftType": mint["nftType"],
        "total": str(total),
        "locked": "1" if total > 1 and position % 13 == 4 else "0",
        "pending": {"withdraw": "0", "deposit": "1" if position % 17 == 6 else "0"},
        "deploymentStatus": mint["collectionInfo"]["deployStatus"],
        "isCounterFactualNFT": mint["isCounterFactualNFT"],
        "metadata": mint["metadata"],
        "minter": mint["minter"],
        "royaltyPercentage": mint["royaltyPercentage"],
        "preference": {"favourite": position % 9 == 3, "hide": False},
        "collectionInfo": mint["collectionInfo"],
        "updatedAt": updated,
        "balanceUpdatedAt": updated,
    }
