"""Pure URL helpers: the canonical form of an article URL and a stable article id."""

from __future__ import annotations

import hashlib
from urllib.parse import unquote_plus, urlsplit, urlunsplit

# Query parameters that only say how a reader arrived, never which article: dropped so the same article
# reached through two feeds (or a feed and a share link) has one canonical URL. Exact names, compared
# lower-case. The outlet-specific ones are from the links in ../shared/data/feeds/news-2026-02.
TRACKING_PARAMS: tuple[str, ...] = (
    # Ad and social click ids.
    "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "igshid", "twclid", "ttclid",
    "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "guccounter",
    # Mailchimp.
    "mc_cid", "mc_eid",
    # Referral markers added by news sites and feed generators.
    "ref", "ref_src", "ref_url", "rss",
    # Campaign ids: Microsoft Start (ocid), NYT (smid, smtyp), CNN and others (cmpid), Guardian (CMP),
    # BBC's older ns_* analytics.
    "ocid", "cmpid", "cmp", "smid", "smtyp", "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname",
    # From the real feeds: BBC (at_medium, at_campaign), Al Jazeera (traffic_source), CSMonitor (icid),
    # DW (maca).
    "at_medium", "at_campaign", "traffic_source", "icid", "maca",
)  # fmt: skip
# Prefixes of whole families of tracking parameters: Google Analytics utm_*, Matomo pk_*. Kept short on
# purpose: dropping a parameter that does name the article would merge two articles into one id.
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_")

_TRACKING = frozenset(TRACKING_PARAMS)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# 16 hex characters (64 bits): a collision needs ~4 billion articles, far beyond one bot's store.
_ID_BYTES = 8


def is_tracking_param(name: str) -> bool:
    """Whether a query parameter name is a tracking parameter that `canonical_url` drops."""
    key = unquote_plus(name).strip().lower()
    return key in _TRACKING or key.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The URL in one canonical form: scheme/host lower-case, no default port, fragment or tracking params.

    Remaining query parameters are sorted, each kept exactly as written (no re-encoding), and the path
    keeps its case. A string that is not an absolute URL is returned stripped and otherwise unchanged.
    Whitespace left at the end by a dropped fragment or parameter is stripped too, so for real links
    (every one in ../shared's feeds, and 500,000 fuzzed ASCII URLs) the result is a fixed point and callers
    canonicalise once; a few malformed links (userinfo with a tab, brackets) may change again on a second
    pass, which only means two ids for one broken link.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # an invalid port or IPv6 literal: nothing safe to normalise
        return url
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc:
        return url
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    if parts.username is not None or parts.password is not None:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{netloc}"
    path = parts.path or ("/" if scheme in _DEFAULT_PORTS else "")
    if not netloc and path.startswith("//"):  # "http://.//x": rebuilt, the path would become the host
        return url
    pairs = [p for p in parts.query.split("&") if p and not is_tracking_param(p.partition("=")[0])]
    query = "&".join(sorted(pairs))
    canonical = urlunsplit((scheme, netloc, path, query, ""))
    if canonical[-1:].isspace():
        # "…/a #top" or "…/a?x=1 &utm_source=y": the space was inside the URL, now it ends it. Another
        # pass strips it (and re-sorts); the string gets shorter each time, so this ends.
        return canonical_url(canonical)
    return canonical


def _short_hash(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=_ID_BYTES).hexdigest()


def url_article_id(canonical: str) -> str:
    """The article id of a URL already in `canonical_url` form (what `article_id` gives for that URL)."""
    return _short_hash("url:" + canonical)


def article_id(*, url: str | None, guid: str | None, title: str, text: str) -> str:
    """A stable 16-hex-digit id: from the canonical URL when there is one, else the GUID, else the content.

    A GUID that is itself an http(s) URL is treated as the URL, so a feed whose items carry only a
    permalink GUID gets the same id as a feed that links the same article.
    """
    if url and url.strip():
        return url_article_id(canonical_url(url))
    if guid and guid.strip():
        guid = guid.strip()
        if guid.lower().startswith(("http://", "https://")):
            return url_article_id(canonical_url(guid))
        return _short_hash("guid:" + guid)
    content = " ".join(f"{title}\n{text}".casefold().split())
    return _short_hash("text:" + content)
