"""The hook's two transports: one exchange with Loopring, sync (requests) or async (httpx).

Each sends one request and hands the status, headers and body to the core, which says what
they mean; neither retries or waits for a token (the hook does, around them). What they add
is I/O only: pooled sessions, one deadline for a whole request, bodies read chunk by chunk
up to the connection's cap, and error text that never carries a header value (the key).
requests and httpx are imported on first use, not when a DAG file imports the hook.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from airflow_provider_loopring import _core as core
from airflow_provider_loopring.exceptions import LoopringApiError

if TYPE_CHECKING:
    import ssl

    import httpx
    import requests

    from airflow_provider_loopring.hooks._cutoff import Exchange


class SyncTransport:
    """requests, for tasks: one pooled session shared by an operator's threads.

    :param trust_env: whether to read proxies (and .netrc) from the environment: only for
        https, where a proxy sees no header.
    """

    def __init__(self, trust_env: bool) -> None:
        self.trust_env = trust_env
        self.in_flight: set[Exchange] = set()
        self._session: requests.Session | None = None
        self._lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        """The pooled session, made on first use."""
        with self._lock:  # an operator's threads may ask first at the same time
            if self._session is None:
                self._session = new_session(self.trust_env)
            return self._session

    def send(
        self,
        request: core.ApiRequest,
        settings: core.ConnectionSettings,
        headers: Mapping[str, str],
    ) -> Any:
        """One GET, bounded by ``settings.timeout`` as a whole; returns the parsed JSON.

        :param request: the call.
        :param settings: the connection's base URL, timeout and body cap.
        :param headers: the request's headers (the key among them, where it needs one).
        :raises LoopringApiError: what the answer or the network amounts to.
        """
        import requests
        import urllib3

        from airflow_provider_loopring.hooks._cutoff import deadline

        with deadline(settings.timeout, self.in_flight) as exchange:
            try:
                response = self.session.get(
                    settings.base_url + request.path,
                    params=dict(request.params),
                    headers=dict(headers),
                    timeout=settings.timeout,
                    allow_redirects=False,  # a redirect would take the key to another host
                    stream=True,  # read below, chunk by chunk, up to max_response_bytes
                )
                with response:
                    body = response_body(request, response.headers, settings)
                    for chunk in response.raw.stream(core.CHUNK, decode_content=False):
                        body.feed(chunk)
                return core.parse_response(
                    request, response.status_code, response.headers, body.read()
                )
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                timed_out = isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError))
                error = failure(request, exc, settings, timed_out or exchange.expired, exchange.cut)
        raise error  # outside the except: the transport's exception holds our headers

    def close(self) -> None:
        """Stop every request in flight at once and close the session (an operator's on_kill)."""
        for exchange in list(self.in_flight):
            exchange.cut_off()
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()


class AsyncTransport:
    """httpx, for triggers: one client per hook, made on first use, closed by :meth:`aclose`."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    @property
    def open(self) -> bool:
        """Whether a client was made and not closed yet."""
        return self._client is not None

    def client(self, settings: core.ConnectionSettings) -> httpx.AsyncClient:
        """The client, made on first use (httpx and TLS set-up take time).

        :param settings: the connection's timeout and proxy choice, for a new client.
        """
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=settings.timeout,
                verify=tls(),
                follow_redirects=False,
                trust_env=settings.use_environment_proxies,
            )
        return self._client

    async def send(
        self,
        request: core.ApiRequest,
        settings: core.ConnectionSettings,
        headers: Mapping[str, str],
    ) -> Any:
        """The async twin of :meth:`SyncTransport.send`.

        :param request: the call.
        :param settings: the connection's base URL, timeout and body cap.
        :param headers: the request's headers.
        :raises LoopringApiError: what the answer or the network amounts to.
        """
        import httpx

        try:
            # One deadline for the whole exchange, body included (httpx's bounds each read).
            status, got, body = await asyncio.wait_for(
                self._exchange(request, settings, headers), settings.timeout
            )
            return core.parse_response(request, status, got, body)
        except (asyncio.TimeoutError, httpx.TimeoutException) as exc:
            error = failure(request, exc, settings, expired=True, cut=False)
        except httpx.HTTPError as exc:
            error = failure(request, exc, settings, expired=False, cut=False)
        raise error  # outside the except: the transport's exception holds our headers

    async def _exchange(
        self,
        request: core.ApiRequest,
        settings: core.ConnectionSettings,
        headers: Mapping[str, str],
    ) -> tuple[int, Mapping[str, str], bytes]:
        async with self.client(settings).stream(
            "GET", settings.base_url + request.path, params=dict(request.params), headers=headers
        ) as response:
            body = response_body(request, response.headers, settings)
            async for chunk in response.aiter_raw(core.CHUNK):
                body.feed(chunk)
        return response.status_code, response.headers, body.read()

    async def aclose(self) -> None:
        """Close the client, if one was made."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def failure(
    request: core.ApiRequest,
    exc: BaseException,
    settings: core.ConnectionSettings,
    expired: bool,
    cut: bool,
) -> LoopringApiError:
    """What a transport exception amounts to; its text never carries a header value.

    :param request: the call that failed.
    :param exc: what the transport raised.
    :param settings: the connection's settings (the timeout named, the key masked).
    :param expired: the request's deadline passed.
    :param cut: the request was cut off by ``close()``.
    """
    if expired:
        return core.transport_failure(
            request, f"no complete response within {settings.timeout:g} s"
        )
    if cut:
        return LoopringApiError(
            "stopped: the hook was closed (the task is being killed)",
            endpoint=request.describe(),
        )
    why = reason(exc, [settings.api_key] if settings.api_key else [])
    return core.transport_failure(request, f"connection failed ({why})")


def new_session(trust_env: bool) -> requests.Session:
    """A session whose requests a deadline or ``close()`` can cut off (see ``_cutoff``).

    :param trust_env: whether to read proxies (and .netrc) from the environment.
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
