"""URL identity: one canonical spelling per article, a short key for it, and its outlet.

``canonical_url`` is an *identity*, not a URL to fetch: always fetch the URL as the feed
gave it. Two spellings of one article must map to the same canonical URL, and two
different articles must never do. The rules, in order:

- Only ``http``/``https`` URLs are canonicalised; anything else (or an unparsable URL)
  is returned stripped of surrounding whitespace, unchanged otherwise.
- Scheme and host are lower-cased; the host is IDNA-encoded (``bücher.de`` →
  ``xn--bcher-kva.de``); a trailing dot and a leading ``www.`` are dropped (a ``www.``
  host and its bare domain serve the same site on every news outlet we know of).
  ``http`` and ``https`` stay distinct.
- User info (``user:password@``) and default ports (80 for http, 443 for https) go.
- The fragment goes (it never selects a different article).
- Percent-encoding is normalised: escapes of unreserved characters are decoded
  (``%7E`` → ``~``), other escapes are upper-cased, raw non-ASCII is UTF-8 encoded.
- Dot segments are resolved and empty segments (``//``) collapse; a trailing slash is
  removed except for the root path, which is always ``/``.
- AMP variants map to the article: an ``amp.`` host prefix, an ``/amp/`` path segment, a
  trailing ``/amp``, ``.amp.html`` (→ ``.html``), a trailing ``.amp``, the query flags
  ``?amp``/``?amp=1``/``?outputType=amp``, and Google AMP cache URLs
  (``*.cdn.ampproject.org/c/s/HOST/PATH``).
- Tracking parameters go: every ``utm_*``, and ``fbclid gclid gbraid wbraid dclid msclkid
  mc_cid mc_eid igshid yclid twclid _ga _gl _hsenc _hsmi mkt_tok ref_src ref_url
  cmpid ocid smid``. A bare ``ref`` is *kept*: some sites use it for content (a branch,
  a reference number), and merging two different articles is worse than missing a
  duplicate.
- Remaining query parameters are sorted by name (stable for repeated names) and
  re-encoded uniformly; blank values are kept (``?a=`` ≠ no ``a``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    import tldextract

__all__ = ["canonical_url", "outlet_of", "url_key"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "gbraid",
        "wbraid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "twclid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ref_src",
        "ref_url",
        "cmpid",
        "ocid",
        "smid",
    }
)
_AMP_FLAGS = {("amp", ""), ("amp", "1"), ("amp", "true"), ("outputtype", "amp")}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters left as they are in a path: unreserved, sub-delims, ":" "@" "/" and "%".
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_AMP_CACHE = re.compile(r"^/[cv]/(?:s/)?([^/]+)(/.*)?$")


def canonical_url(url: str) -> str:
    """The one spelling newsmon stores for ``url``; see the module doc for the rules."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            return url
        host = _canonical_host(parts.hostname)
        port = parts.port
    except ValueError:
        return url
    path = parts.path
    if host.endswith(".cdn.ampproject.org") and (m := _AMP_CACHE.match(path)):
        return canonical_url(f"https://{m.group(1)}{m.group(2) or '/'}")
    if host.startswith("amp.") and host.count(".") >= 2:
        host = host[4:]
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = _canonical_query(parts.query)
    return urlunsplit((scheme, netloc, _canonical_path(path), query, ""))


def url_key(url: str) -> str:
    """A short stable key of the canonical URL (24 hex chars, 96 bits) for a unique index."""
    return hashlib.blake2b(canonical_url(url).encode("utf-8"), digest_size=12).hexdigest()


def outlet_of(url: str) -> str:
    """The outlet behind ``url``: its registrable domain by the Public Suffix List, e.g.
    ``"reuters.com"``, ``"bbc.co.uk"`` — and ``"someone.github.io"``, since the list's
    private section makes ``github.io`` and ``blogspot.com`` suffixes: each site on them is
    an outlet of its own. The list is the snapshot bundled with ``tldextract``, never
    fetched. A host under no listed suffix (``news.example``, ``localhost``) keeps its last
    two labels, ``m.``/``mobile.``/``amp.``/``www.`` prefixes left out; IP hosts are
    returned as they are; "" when there is no host.
    """
    try:
        host = urlsplit(canonical_url(url)).hostname or ""
    except ValueError:
        return ""
    if not host or _is_ip(host):
        return host
    registrable = _public_suffixes()(host).top_domain_under_public_suffix
    if registrable:
        return str(registrable)
    labels = host.split(".")
    while len(labels) > 2 and labels[0] in ("m", "mobile", "amp", "www"):
        labels = labels[1:]
    return ".".join(labels[-2:])


@cache
def _public_suffixes() -> tldextract.TLDExtract:
    """The bundled Public Suffix List with its private domains; no fetch, no cache files.
    Imported when first needed: tldextract brings requests, a third of a second to import
    for every command and worker process that never reads an outlet."""
    import tldextract

    return tldextract.TLDExtract(
        suffix_list_urls=(), include_psl_private_domains=True, cache_dir=None
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _canonical_host(host: str) -> str:
    host = host.rstrip(".").lower()
    if _is_ip(host):
        return f"[{host}]" if ":" in host else host
    if not host.isascii():
        try:
            import idna  # a dependency of httpx

            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            host = host.encode("idna").decode("ascii")
    if host.startswith("www.") and host.count(".") >= 2:
        host = host[4:]
    return host


def _canonical_path(path: str) -> str:
    path = _normalise_escapes(path, _PATH_SAFE)
    segments = _remove_dot_segments(path.split("/"))
    # AMP: a "/amp/" segment anywhere, or a trailing "/amp".
    segments = [s for s in segments if s.lower() != "amp"]
    if segments and (last := segments[-1].lower()).endswith((".amp.html", ".amp")):
        cut = len(".amp.html") if last.endswith(".html") else len(".amp")
        segments[-1] = segments[-1][:-cut] + (".html" if last.endswith(".html") else "")
    return "/" + "/".join(segments)


def _remove_dot_segments(segments: list[str]) -> list[str]:
    out: list[str] = []
    for segment in segments:
        if segment == "..":
            if out:
                out.pop()
        elif segment not in (".", ""):
            out.append(segment)
    return out


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = [
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if not _is_tracking(k) and (k.lower(), v.lower()) not in _AMP_FLAGS
    ]
    pairs.sort(key=lambda kv: kv[0])
    return urlencode(pairs, quote_via=quote, safe="-._~")


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in _TRACKING


def _normalise_escapes(text: str, safe: str) -> str:
    """Decode escapes of unreserved characters, upper-case the rest, encode raw bytes."""

    def fix(m: re.Match[str]) -> str:
        char = chr(int(m.group(1), 16))
        return char if char in _UNRESERVED else "%" + m.group(1).upper()

    text = _PCT.sub(fix, _LONE_PERCENT.sub("%25", text))
    return quote(text, safe=safe + "%")
