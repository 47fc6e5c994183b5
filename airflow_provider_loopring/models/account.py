"""Layer-2 accounts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_loopring.models.fields import (
    BOOLEAN,
    INTEGER,
    OBJECT,
    REQUIRED_INTEGER,
    STRING,
    ApiModel,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Account(ApiModel):
    """A layer-2 account (``/api/v3/account``).

    :param account_id: the layer-2 account id.
    :param owner: the layer-1 address that owns the account.
    :param frozen: whether the account is frozen: it cannot submit orders.
    :param public_key: the EdDSA key, ``x`` and ``y``; both empty before activation.
    :param tags: comma-separated tags such as VIP levels; often empty.
    :param nonce: the account's layer-2 nonce.
    :param key_nonce: the nonce of the account's key changes; ``key_seed`` names the one
        before it.
    :param key_seed: the message signed to derive the key; empty before activation.
    """

    _FIELDS = (
        REQUIRED_INTEGER("account_id", "accountId"),
        STRING("owner", "owner"),
        BOOLEAN("frozen", "frozen"),
        OBJECT("public_key", "publicKey"),
        STRING("tags", "tags"),
        INTEGER("nonce", "nonce"),
        INTEGER("key_nonce", "keyNonce"),
        STRING("key_seed", "keySeed"),
    )
    account_id: int
    owner: str | None
    frozen: bool | None
    public_key: dict[str, Any]
    tags: str | None
    nonce: int | None
    key_nonce: int | None
    key_seed: str | None

    @property
    def is_activated(self) -> bool:
        """Whether the account has set its layer-2 key, without which it cannot trade."""
        return bool(self.public_key.get("x"))
