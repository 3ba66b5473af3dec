"""Requests the server makes to addresses people configure (webhooks): only to public
addresses, unless a setting allows private ones.

The address is checked when it is configured (its literal IP, or what its name resolves
to then) and again on every connection, after resolving, on the very address connected
to, so a name that later resolves to 127.0.0.1 or 169.254.169.254 (DNS rebinding) is
refused too.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request
from urllib.parse import urlsplit

from lms.core.errors import Invalid

SETTING = "LMS_WEBHOOK_ALLOW_PRIVATE"


class RefusedAddress(OSError):
    """A connection to a loopback, link-local, private or reserved address, not allowed."""


def refused(address: str) -> bool:
    """Whether an IP address is anything but a public unicast one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("%eth0")
    if ip.version == 6:
        # IPv6 forms that carry an IPv4 address reach that address: ::ffff:127.0.0.1
        # (mapped), ::127.0.0.1 (compatible), 2002:7f00:1:: (6to4), 64:ff9b::7f00:1 (NAT64).
        packed = ip.packed
        embedded = (ip.ipv4_mapped or ip.sixtofour
                    or (ipaddress.IPv4Address(packed[12:]) if packed[:12] == bytes(12)
                        or ip in _NAT64 else None))
        if embedded is not None and (not embedded.is_global or embedded.is_multicast):
            return True
    return not ip.is_global or ip.is_multicast


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _private_message(address: str) -> str:
    return (f"{address} is a loopback, link-local or private address: webhooks go to public "
            f"addresses only, unless the server's {SETTING} setting allows them.")


def check_url(url: str, *, field: str, allow_private: bool) -> str:
    """The URL, stripped, if the server may send to it; Invalid naming `field` otherwise."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port  # .port raises on "host:x" or 99999
    except ValueError as error:  # "http://[::1" and other broken IPv6 literals
        raise Invalid(f"This is not a valid address ({error}).", field=field) from None
    if parts.scheme not in ("http", "https") or not host:
        raise Invalid("Give the full address, starting with https:// (or http://).",
                      field=field)
    if allow_private:
        return url
    try:
        if refused(host):
            raise Invalid(_private_message(host), field=field)
        return url
    except ValueError:
        pass  # a name, not an IP address
    try:
        found = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except UnicodeError:  # a name no DNS can carry (a label over 63 characters, ...)
        raise Invalid("The host name in this address is not valid.", field=field) from None
    except OSError:
        return url  # not resolvable now; every delivery checks again
    for *_, sockaddr in found:
        if refused(sockaddr[0]):
            raise Invalid(f"{host} resolves to " + _private_message(sockaddr[0]), field=field)
    return url


def _connect_public(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):
    """socket.create_connection, to the checked addresses of the name only."""
    host, port = address
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, sockaddr in found:
        if refused(sockaddr[0]):
            raise RefusedAddress(f"refused: {host} resolves to {sockaddr[0]}, a loopback, "
                                 f"link-local or private address ({SETTING} is not set)")
    last_error: OSError | None = None
    for family, kind, proto, _, sockaddr in found:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)  # the address just checked, not a second lookup
            return sock
        except OSError as error:
            sock.close()
            last_error = error
    raise last_error or OSError(f"no address for {host}")


class _PublicHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _connect_public  # the stdlib sets it per instance


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _connect_public


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_PublicHTTPSConnection, req, context=self._context)


def opener(*handlers, allow_private: bool) -> urllib.request.OpenerDirector:
    """A urllib opener that connects only to public addresses (unless allowed)."""
    if allow_private:
        return urllib.request.build_opener(*handlers)
    # No proxy from the environment: through one, the check would see the proxy's address.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), *handlers,
                                       _PublicHTTPHandler, _PublicHTTPSHandler)
