r"""Request guards of ``kg serve``: what a hostile web page or a sloppy client must not get through.

* **Cross-origin writes** (:func:`check_origin`). A web page on any site can make the
  browser of someone running ``kg serve --update`` on their machine send a form
  ``POST /sparql`` with ``update=DROP ALL`` to ``http://127.0.0.1:7878`` (a "simple" request:
  no CORS preflight, and CORS only hides the *answer*). Browsers name the page's origin in
  the ``Origin`` header of every such request, so a write whose ``Origin`` is neither the
  server's own nor one allowed with ``--cors`` is refused (403). Clients that are not
  browsers (curl, SPARQLWrapper, rdflib) send no ``Origin`` and are unaffected.
* **DNS rebinding** (:class:`AllowedHosts`). A page on ``evil.example`` whose name then
  re-resolves to ``127.0.0.1`` is same-origin with a server on the visitor's machine and could
  read it; its requests still carry ``Host: evil.example``. ``kg serve`` on a loopback
  interface answers only requests for ``localhost``, ``127.0.0.1`` and ``[::1]`` (plus
  ``--allow-host`` names): others are 400.
* **Query strings that are not UTF-8** (:class:`StrictQueryString`). Starlette decodes
  ``%E9`` (Latin-1 ``é``) to U+FFFD silently, so ``?graph=urn:caf%E9`` named a graph
  ``urn:caf\ufffd`` and a query searched for a string nobody wrote; such a request is
  answered 400 naming the parameter.

Example:
    >>> strict_items(b"query=ASK%20%7B%7D&format=json")
    [('query', 'ASK {}'), ('format', 'json')]
    >>> strict_items(b"graph=urn:caf%E9")
    Traceback (most recent call last):
    ...
    kg_engine.serve.errors.HTTPError: the request's parameters are not UTF-8 after percent-decoding ('graph=urn:caf%E9'…): percent-encode the UTF-8 bytes of each character (é is %C3%A9)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import PlainTextResponse

from .errors import HTTPError

__all__ = ["LOOPBACK_HOSTS", "AllowedHosts", "StrictQueryString", "check_origin", "host_name",
           "strict_items"]

#: Host names a server bound to a loopback interface answers to by default.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def strict_items(raw: bytes) -> list[tuple[str, str]]:
    """The ``name=value`` pairs of a query string or form body, decoded as UTF-8 strictly.

    Raises:
        HTTPError: 400 when a byte sequence (raw or percent-encoded) is not UTF-8.
    """
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, encoding="utf-8",
                         errors="strict")
    except UnicodeDecodeError:
        shown = raw[:40].decode("latin-1")
        raise HTTPError(400, f"the request's parameters are not UTF-8 after percent-decoding "
                             f"({shown!r}…): percent-encode the UTF-8 bytes of each character "
                             "(é is %C3%A9)") from None


class StrictQueryString:
    """ASGI middleware: a request whose query string is not UTF-8 is answered 400."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            try:
                strict_items(scope["query_string"])
            except HTTPError as exc:
                await PlainTextResponse(str(exc) + "\n", exc.status)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def host_name(header: str) -> str:
    """The name in a ``Host`` header, without its port, lower-cased.

    Example:
        >>> host_name("LocalHost:7878"), host_name("[::1]:7878"), host_name("127.0.0.1")
        ('localhost', '[::1]', '127.0.0.1')
    """
    header = header.strip().lower()
    if header.startswith("["):
        return header[:header.find("]") + 1] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class AllowedHosts:
    """ASGI middleware: a request whose ``Host`` is not one of ``hosts`` is answered 400."""

    def __init__(self, app: Any, hosts: tuple[str, ...]) -> None:
        self.app = app
        self.hosts = {h.lower() for h in hosts}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            header = dict(scope.get("headers") or ()).get(b"host", b"").decode("latin-1")
            if host_name(header) not in self.hosts:
                message = (f"Host {header!r} is not a name this server answers to "
                           f"({', '.join(sorted(self.hosts))}): a web page whose domain "
                           "re-resolves to this machine could otherwise read the store; "
                           "add the name with `kg serve --allow-host NAME`\n")
                await PlainTextResponse(message, 400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def check_origin(request: Request) -> None:
    """Refuse a write sent by a web page of another origin than the server's (see module doc).

    Raises:
        HTTPError: 403 naming the origin and how to allow it.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return
    allowed = request.app.state.config.cors
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin == own or "*" in allowed or origin in allowed:
        return
    raise HTTPError(403, f"a write from a web page of origin {origin!r} is refused (only this "
                         f"server's own pages, {own}, may write; a page elsewhere could make a "
                         "visitor's browser change the store): allow that origin with "
                         "`kg serve --cors ORIGIN`")
