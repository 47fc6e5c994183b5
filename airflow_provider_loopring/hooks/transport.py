"""What the hook's two transports need besides the core: sessions, TLS, bodies, error text."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

from airflow_provider_loopring import _core as core

if TYPE_CHECKING:
    import ssl

    import requests


def new_session(trust_env: bool) -> requests.Session:
    """A session whose requests a deadline or ``close()`` can cut off (see ``_cutoff``).

    :param trust_env: whether to read proxies (and .netrc) from the environment: only for
        https, where a proxy sees no header.
    """
    import requests

    from airflow_provider_loopring.hooks._cutoff import CutOffAdapter

    session = requests.Session()
    session.trust_env = trust_env
    adapter = CutOffAdapter(pool_connections=1, pool_maxsize=32, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


@cache
def tls() -> ssl.SSLContext:
    """One TLS context for every async client of the process, as httpx would make it.

    Each ``httpx.AsyncClient`` otherwise builds its own and loads the CA bundle into it:
    about 0.8 MiB and 20 ms of CPU per client, and the triggerer runs a hook, so a client,
    per deferred sensor. A context is safe to share between clients and event loops.
    """
    import httpx

    return httpx.create_ssl_context()


def response_body(
    request: core.ApiRequest, headers: Mapping[str, str], settings: core.ConnectionSettings
) -> core.ResponseBody:
    """An empty body for a response whose headers just arrived, capped by the connection.

    :param request: the call answered, named in errors.
    :param headers: the response's headers: ``Content-Encoding`` and ``Content-Length``.
    :param settings: the connection's settings, for ``max_response_bytes``.
    :raises LoopringBadResponseError: a plain body whose ``Content-Length`` is over the cap.
    """
    body = core.ResponseBody(request, headers.get("Content-Encoding"), settings.max_response_bytes)
    body.check_length(headers.get("Content-Length"))
    return body


def reason(exc: BaseException, secrets: list[str]) -> str:
    """The innermost cause of a transport error, short ("Connection refused").

    :param exc: what the transport raised.
    :param secrets: header values sent (the key): masked, should a transport's text hold one.
    """
    while exc.__cause__ or exc.__context__:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).split(":")[-1].strip() or type(exc).__name__
    for secret in secrets:
        text = text.replace(secret, "***")
    return f"{type(exc).__name__}: {text}"[:200]
