"""Topic rules: named groups of terms combined with all/any/none, compiled once into fast matchers.

The file format is documented in docs/config.md. Speed: the pipeline must do >= 1,000 articles/s, and
Python's `re` costs ~15 ns per byte even for a one-word pattern (~90 µs for a 1,000-word article,
measured here), while C string methods (`bytes.lower`, `bytes.translate`, `split`, set intersection)
cost ~1 ns. So each part of an article (title, lead, text) is folded once to bytes and cut into a set
of words; a group's one-word terms are a set intersection; a many-word term (or ignore phrase) is
checked with its own small regex, which starts with a literal word (a fast C search), only when all of
its words are in the set. CJK terms are one regex per group, run only on text that holds CJK bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Literal, TypeAlias

from bot.core.tuning import DEFAULT_PARAMS, ClusterParams
from bot.errors import ConfigError
from bot.models import Article, TopicMatch

Scope = Literal["title", "lead", "all"]
SCOPES: tuple[Scope, ...] = ("title", "lead", "all")

DEFAULT_LEAD_CHARS = 600  # about the first two paragraphs of a wire story: where it says what it is about

# Characters that may stand between the words of a term in real copy: spaces of every kind, hyphens and
# dashes, apostrophes and single quotes, slash and underscore. Written as UTF-8 byte sequences because
# matching runs on bytes (see the module docstring).
_SEP_CHAR = rb"(?:[\s\-_/'`]|\xc2\xa0|\xca\xbc|\xe2\x80[\x80-\x8b\x90-\x95\x98-\x9b\xaf]|\xe3\x80\x80)"
_SEP_RUN = re.compile(_SEP_CHAR + b"+")
_SEP_MAX = 3  # "Kim Jong - Un" has three separator characters; more is not a spelling, it is a gap
_APOSTROPHES = frozenset("'’‘ʼ`")
_TERM_SEPARATORS = frozenset(" \t\n\r\f\v-_/\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u202f\u3000") | _APOSTROPHES
_BOUNDARY_AFTER = rb"s?(?![a-z0-9])"  # the optional "s": lost apostrophes ("Chinas") and plurals
# Lead bytes of UTF-8 Kana, Han, Hangul and full-width forms; curly quotes (\xe2) are not among them.
_NOT_CJK_LEAD = bytes(b for b in range(256) if not (0xE3 <= b <= 0xED or b == 0xEF))
# Words, as the set lookups see them: runs of a-z and 0-9; everything else (punctuation, curly quotes,
# accented letters) separates words, exactly as the regexes' word boundaries do.
_TOKENS = bytes(b if 0x30 <= b <= 0x39 or 0x61 <= b <= 0x7A else 0x20 for b in range(256))
_RULE_KEYS = frozenset({"name", "in", "all", "any", "none"})
_EVENTS_KEYS = frozenset({"quiet_hours", "retention_days"})
# Bounds that catch a unit mistake (minutes typed as hours, hours as days) rather than policy choices.
_MAX_QUIET_HOURS = 24 * 30
_MAX_RETENTION_DAYS = 365
_GROUP_KEYS = frozenset({"terms", "ignore", "description"})
_TOP_KEYS = frozenset({"name", "description", "lead_chars", "groups", "rules", "events"})


def _is_cjk(term: str) -> bool:
    """True when the term holds Han, Kana or Hangul: such terms match anywhere, with no word boundaries."""
    return any(
        "\u1100" <= ch <= "\u11ff"  # Hangul Jamo
        or "\u2e80" <= ch <= "\u9fff"  # CJK radicals, punctuation, Kana, Han
        or "\uac00" <= ch <= "\ud7af"  # Hangul syllables
        or "\uf900" <= ch <= "\ufaff"  # CJK compatibility ideographs
        or "\uff66" <= ch <= "\uffdc"  # half-width Kana and Hangul
        for ch in term
    )


def _fold(text: str) -> bytes:
    """Text as matching sees it: UTF-8 with ASCII letters lower-cased."""
    return text.encode("utf-8", "surrogatepass").lower()


def _key(folded: bytes) -> bytes:
    """A spelling-independent key: separators removed, so "Kim Jong-un" and "kim jong un" are one key."""
    return _SEP_RUN.sub(b"", folded)


Atom = int | str  # a byte, or "+" (one to three separators) / "?" (zero to three: an apostrophe)


def _atoms(term: str) -> tuple[list[Atom], list[bytes]]:
    """Split a term into regex atoms and its words; separators become flexible, apostrophes optional."""
    atoms: list[Atom] = []
    words: list[bytes] = []
    word = bytearray()
    sep: str | None = None
    for ch in term.strip():
        if ch in _TERM_SEPARATORS:
            # a run holding anything but an apostrophe needs at least one separator in the text
            sep = "+" if sep == "+" or ch not in _APOSTROPHES else "?"
            continue
        if sep is not None and word:
            atoms.append(sep)
            words.append(bytes(word))
            word.clear()
        sep = None
        folded = _fold(ch)
        atoms.extend(folded)
        word.extend(folded)
    if word:
        words.append(bytes(word))
    return atoms, words


_Trie: TypeAlias = "dict[Atom | None, _Trie]"


def _trie_regex(sequences: Iterable[Sequence[Atom]]) -> bytes:
    """One regex for many atom sequences, factored as a trie so a mismatch costs one byte compare."""
    root: _Trie = {}
    for seq in sequences:
        node = root
        for atom in seq:
            node = node.setdefault(atom, {})
        node[None] = {}

    def emit(node: _Trie) -> bytes:
        parts = []
        for atom in sorted((a for a in node if a is not None), key=lambda a: (isinstance(a, str), a)):
            if atom == "+":
                head = _SEP_CHAR + b"{1,%d}" % _SEP_MAX
            elif atom == "?":
                head = _SEP_CHAR + b"{0,%d}" % _SEP_MAX
            else:
                assert isinstance(atom, int)
                head = re.escape(bytes([atom]))
            parts.append(head + emit(node[atom]))
        if not parts:
            return b""
        body = parts[0] if len(parts) == 1 else b"(?:" + b"|".join(parts) + b")"
        # a term may end here while a longer one goes on: try the longer one first (greedy)
        return b"(?:" + body + b")?" if None in node else body

    return emit(root)


@dataclass(frozen=True, slots=True)
class _Phrase:
    """A many-word term or an ignore phrase: its words for the quick check, its regex for the sure one."""

    term: str  # as written; "" for an ignore phrase
    index: int  # position in the group's term list, for a stable order of results
    others: frozenset[bytes]  # words every spelling contains (see _sure_words)
    last: bytes | None  # the last word, which may carry a glued "s"
    pattern: re.Pattern[bytes]

    def present(self, words: set[bytes]) -> bool:
        """All sure words are in the text's word set: the phrase may be there (the regex decides)."""
        last = self.last
        return self.others <= words and (last is None or last in words or last + b"s" in words)


@dataclass(frozen=True, slots=True)
class TermGroup:
    """A named list of terms (and phrases to ignore), compiled for set lookups and a few small regexes."""

    name: str
    terms: tuple[str, ...]
    ignore: tuple[str, ...]
    singles: Mapping[bytes, tuple[int, str]] = field(repr=False, compare=False)  # word -> (index, term)
    single_words: frozenset[bytes] = field(repr=False, compare=False)
    single_patterns: Mapping[str, re.Pattern[bytes]] = field(repr=False, compare=False)
    phrases: Mapping[bytes, tuple[_Phrase, ...]] = field(repr=False, compare=False)  # by rarest word
    phrase_keys: frozenset[bytes] = field(repr=False, compare=False)
    cjk: re.Pattern[bytes] | None = field(repr=False, compare=False)
    cjk_terms: Mapping[bytes, tuple[int, str]] = field(repr=False, compare=False)  # "" term = ignore

    def find(self, part: _Part) -> tuple[str, ...]:
        """The distinct terms of this group in one part of an article, in the order the group lists them."""
        words = part.words
        found: dict[str, int] = {}
        for word in words & self.single_words:
            index, term = self.singles[word]
            found[term] = index
        keys = words & self.phrase_keys
        if b"" in self.phrase_keys:
            keys.add(b"")
        candidates = [phrase for key in keys for phrase in self.phrases[key] if phrase.present(words)]
        if candidates:
            self._phrases(part.padded, candidates, found)
        if part.has_cjk and self.cjk is not None:
            for m in self.cjk.finditer(part.padded):
                index, term = self.cjk_terms[m.group()]
                if term:  # "" is an ignore phrase, consumed by the regex so its inner terms do not count
                    found[term] = index
        return tuple(sorted(found, key=found.__getitem__))

    def _phrases(self, padded: bytes, candidates: list[_Phrase], found: dict[str, int]) -> None:
        """Confirm candidate phrases with their regexes; drop terms that lie inside an ignore phrase."""
        ignored: list[tuple[int, int]] = []
        hits: list[tuple[int, int, int, str]] = []
        for phrase in candidates:
            for m in phrase.pattern.finditer(padded):
                if phrase.term:
                    hits.append((m.start(), m.end(), phrase.index, phrase.term))
                else:
                    ignored.append(m.span())
        if ignored:
            # one-word terms found by the set may sit inside an ignore phrase ("China" in "South China
            # Sea"): locate each one's occurrences, and keep it only if one lies outside every ignore
            for term in [t for t in found if t in self.single_patterns]:
                index = found.pop(term)
                for m in self.single_patterns[term].finditer(padded):
                    hits.append((m.start(), m.end(), index, term))
        for start, end, index, term in hits:
            if not any(lo <= start and end <= hi for lo, hi in ignored):
                found.setdefault(term, index)


@dataclass(frozen=True, slots=True)
class Rule:
    """One way to match: every `all` group found, at least one `any` group found, no `none` group found."""

    name: str
    scope: Scope  # where to look: the title, the title and lead, or the title and all the text
    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    none: tuple[str, ...] = ()


class _Part:
    """One part of an article (title, lead or text) folded once: bytes, word set, whether it holds CJK."""

    __slots__ = ("has_cjk", "padded", "words")

    def __init__(self, text: str) -> None:
        folded = _fold(text)
        # the leading space lets a term at the very start pass its look-behind word-boundary check
        self.padded = b" " + folded
        self.words = set(folded.translate(_TOKENS).split())
        # ASCII text (as many bytes as characters) holds no CJK; else one C pass tells
        self.has_cjk = len(folded) != len(text) and bool(folded.translate(None, _NOT_CJK_LEAD))


class _Article:
    """One article being matched: parts folded on first use, group results cached per part."""

    __slots__ = ("_cache", "_lead_chars", "_parts", "_text", "_title")

    def __init__(self, title: str, text: str, lead_chars: int) -> None:
        self._title = title
        self._text = text
        self._lead_chars = lead_chars
        self._parts: dict[str, _Part] = {}
        self._cache: dict[tuple[str, str], tuple[str, ...]] = {}

    def _part(self, name: str) -> _Part:
        """The title, lead or full text, folded on first use."""
        part = self._parts.get(name)
        if part is None:
            if name == "title":
                part = _Part(self._title)
            elif name == "text":
                part = _Part(self._text)
            else:
                part = _Part(_lead(self._text, self._lead_chars))
            self._parts[name] = part
        return part

    def terms(self, group: TermGroup, scope: Scope) -> tuple[str, ...]:
        """Terms of `group` found in the scope: the title, plus the lead or the whole text."""
        found = self._found(group, "title")
        if scope != "title":
            body = self._found(group, "lead" if scope == "lead" else "text")
            found = tuple(dict.fromkeys(found + body))
        return found

    def _found(self, group: TermGroup, part: str) -> tuple[str, ...]:
        """Terms of `group` in one part, cached: several rules ask about the same group."""
        key = (group.name, part)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = group.find(self._part(part))
        return hit


def _shortest_list(terms: Iterable[str]) -> tuple[str, ...]:
    """Distinct terms, without those whose words another term holds ("Xi" beside "Xi Jinping")."""
    distinct = list(dict.fromkeys(terms))
    words = {t: set(t.casefold().replace("-", " ").split()) for t in distinct}
    return tuple(t for t in distinct if not any(u != t and words[t] < words[u] for u in distinct))


def _lead(text: str, lead_chars: int) -> str:
    """The first `lead_chars` characters of the text, extended to the end of a word cut in half."""
    if len(text) <= lead_chars:
        return text
    end = lead_chars
    limit = min(len(text), lead_chars + 40)  # CJK text has no spaces: do not run to the end
    while end < limit and not text[end].isspace():
        end += 1
    return text[:end]


@dataclass(frozen=True, slots=True)
class EventWindows:
    """The topic's [events] table: how long an event stays open to new reports, and in memory."""

    quiet_window: timedelta = DEFAULT_PARAMS.quiet_window  # no new report for this long closes the event
    retention: timedelta = DEFAULT_PARAMS.retention  # events idle this long leave the index (and restores)

    def cluster_params(self, base: ClusterParams = DEFAULT_PARAMS) -> ClusterParams:
        """The event index's parameters with these windows."""
        return replace(base, quiet_window=self.quiet_window, retention=self.retention)


@dataclass(frozen=True, slots=True)
class TopicRules:
    """The compiled topic: groups of terms and the rules that combine them; `match` is pure and fast."""

    name: str
    groups: Mapping[str, TermGroup] = field(compare=False)
    rules: tuple[Rule, ...]
    lead_chars: int = DEFAULT_LEAD_CHARS
    description: str = ""
    events: EventWindows = EventWindows()

    def match(self, title: str, text: str) -> TopicMatch:
        """Whether the article matches: the first rule that holds gives the terms and the reason."""
        article = _Article(title or "", text or "", self.lead_chars)
        excluded: list[str] = []
        for rule in self.rules:
            found: list[tuple[str, tuple[str, ...]]] = []
            ok = True
            for name in rule.all:
                terms = article.terms(self.groups[name], rule.scope)
                if not terms:
                    ok = False
                    break
                found.append((name, terms))
            if not ok:
                continue
            if rule.any:
                hits = [(name, article.terms(self.groups[name], rule.scope)) for name in rule.any]
                hits = [(name, terms) for name, terms in hits if terms]
                if not hits:
                    continue
                found.extend(hits)
            veto = next(
                ((name, terms) for name in rule.none if (terms := article.terms(self.groups[name], rule.scope))),
                None,
            )
            if veto is not None:
                excluded.append(f"{rule.name} excluded by {veto[0]}: {', '.join(veto[1])}")
                continue
            terms_all = _shortest_list(t for _, terms in found for t in terms)
            reason = f"{rule.name}: " + "; ".join(f"{name}: {', '.join(terms)}" for name, terms in found)
            return TopicMatch(matched=True, terms=terms_all, reason=reason)
        return TopicMatch(matched=False, reason="; ".join(excluded) or "no rule held")

    def match_article(self, article: Article) -> TopicMatch:
        """`match` on an Article's title and text (the shape replay and the pipeline pass around)."""
        return self.match(article.title, article.text)

    def summary(self) -> tuple[str, ...]:
        """Readable lines describing the groups and rules, for `wirewatch check-config`."""
        lines = [f"topic {self.name!r}: {len(self.groups)} groups, {len(self.rules)} rules"]
        for group in self.groups.values():
            extra = f", {len(group.ignore)} ignore phrases" if group.ignore else ""
            lines.append(f"  group {group.name}: {len(group.terms)} term(s){extra}")
        for rule in self.rules:
            parts = [f"all of {', '.join(rule.all)}"] if rule.all else []
            if rule.any:
                parts.append(f"any of {', '.join(rule.any)}")
            if rule.none:
                parts.append(f"none of {', '.join(rule.none)}")
            lines.append(f"  rule {rule.name} (in {rule.scope}): {'; '.join(parts)}")
        quiet_h = self.events.quiet_window / timedelta(hours=1)
        keep_d = self.events.retention / timedelta(days=1)
        lines.append(f"  events: closed after {quiet_h:g} h without a new report; kept {keep_d:g} days")
        return tuple(lines)


# --------------------------------------------------------------------------- building from TOML data


def _fail(source: str, key: str, expected: str, got: object) -> ConfigError:
    """A ConfigError naming the file, the key, what was expected and what was found."""
    shown = repr(got)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return ConfigError(f"{source}: {key}: expected {expected}, got {shown}")


def _string_list(source: str, key: str, value: object, *, allow_empty: bool) -> tuple[str, ...]:
    """A list of non-empty strings, or ConfigError."""
    if not isinstance(value, list):
        raise _fail(source, key, "a list of strings", value)
    if not value and not allow_empty:
        raise _fail(source, key, "a non-empty list of strings", value)
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise _fail(source, f"{key}[{i}]", "a non-empty string", item)
        out.append(item.strip())
    return tuple(out)


def _check_keys(source: str, key: str, table: Mapping[str, object], allowed: frozenset[str]) -> None:
    """Unknown keys are errors: a misspelt `none` would silently widen the topic."""
    for name in table:
        if name not in allowed:
            where = f"{key}.{name}" if key else name
            raise ConfigError(f"{source}: {where}: unknown key (expected one of: {', '.join(sorted(allowed))})")


def _build_group(source: str, name: str, table: object) -> TermGroup:
    """Compile one `[groups.NAME]` table."""
    key = f"groups.{name}"
    if not isinstance(table, dict):
        raise _fail(source, key, "a table with `terms`", table)
    _check_keys(source, key, table, _GROUP_KEYS)
    if "terms" not in table:
        raise ConfigError(f"{source}: {key}.terms: missing (expected a non-empty list of strings)")
    terms = _string_list(source, f"{key}.terms", table["terms"], allow_empty=False)
    ignore = _string_list(source, f"{key}.ignore", table.get("ignore", []), allow_empty=True)
    description = table.get("description", "")
    if not isinstance(description, str):
        raise _fail(source, f"{key}.description", "a string", description)

    singles: dict[bytes, tuple[int, str]] = {}
    plurals: dict[bytes, tuple[int, str]] = {}
    single_patterns: dict[str, re.Pattern[bytes]] = {}
    phrases: dict[bytes, list[_Phrase]] = {}
    cjk: list[list[Atom]] = []
    cjk_terms: dict[bytes, tuple[int, str]] = {}
    entries = [(i, t, t) for i, t in enumerate(terms)] + [(i, "", t) for i, t in enumerate(ignore)]
    for index, term, text in entries:
        where = f"{key}.{'terms' if term else 'ignore'}[{index}]"
        atoms, words = _atoms(text)
        if _is_cjk(text):
            cjk.append(atoms)
            if term:
                cjk_terms.setdefault(_key(b"".join(words)), (index, term))
            else:
                cjk_terms[_key(b"".join(words))] = (index, "")  # an ignore wins over a term spelt the same
            continue
        folded = _fold(text)
        tokens = folded.translate(_TOKENS).split()
        if not tokens:
            raise _fail(source, where, "a term with a letter or digit (A-Z, 0-9)", text)
        pattern = _phrase_pattern(atoms, words[0])
        if term and len(tokens) == 1 and tokens[0] == folded:
            # one plain word: a set lookup finds it; the regex serves only near ignore phrases
            singles.setdefault(tokens[0], (index, term))
            plurals.setdefault(tokens[0] + b"s", (index, term))  # lost apostrophe or plural
            single_patterns.setdefault(term, pattern)
            continue
        others, last = _sure_words(text)
        phrase = _Phrase(term, index, others, last, pattern)
        if others:
            # the longest word is usually the rarest: fewest phrases to check per article
            keys = [max(sorted(others), key=len)]
        elif last is not None:
            keys = [last, last + b"s"]
        else:
            keys = [b""]  # nothing sure to look up ("Xi'an"): checked on every article
        for word in keys:
            phrases.setdefault(word, []).append(phrase)
    merged = {**plurals, **singles}  # an exact word wins over another word's plural ("meets", "meet")
    return TermGroup(
        name=name,
        terms=terms,
        ignore=ignore,
        singles=merged,
        single_words=frozenset(merged),
        single_patterns=single_patterns,
        phrases={word: tuple(items) for word, items in phrases.items()},
        phrase_keys=frozenset(phrases),
        cjk=re.compile(_trie_regex(cjk)) if cjk else None,
        cjk_terms=cjk_terms,
    )


def _sure_words(text: str) -> tuple[frozenset[bytes], bytes | None]:
    """The words any spelling of a term must contain, and its last word (which may take a glued "s").

    A word joined by an apostrophe is left out: "People's" may appear as "People's", "People s" or
    "Peoples", which are different word sets; the term's regex checks the spelling.
    """
    chunks = "".join(" " if ch in _TERM_SEPARATORS and ch not in _APOSTROPHES else ch for ch in text).split()
    sure: list[bytes] = []
    for chunk in chunks:
        if not any(ch in _APOSTROPHES for ch in chunk):
            sure.extend(_fold(chunk).translate(_TOKENS).split())
    last = chunks[-1] if chunks else ""
    if sure and not any(ch in _APOSTROPHES for ch in last):
        return frozenset(sure[:-1]), sure[-1]
    return frozenset(sure), None


def _phrase_pattern(atoms: Sequence[Atom], first: bytes) -> re.Pattern[bytes]:
    """A regex for one Latin term as whole words; it starts with the literal first word so the engine
    finds candidates with a fast C search, and checks the word boundary before it with a look-behind."""
    rest = atoms[len(first) :]
    before = b"(?<![a-z0-9]" + b"." * len(first) + b")"
    return re.compile(re.escape(first) + before + _trie_regex([rest]) + _BOUNDARY_AFTER, re.DOTALL)


def _group_refs(
    source: str, rule_key: str, field_name: str, table: Mapping[str, object], groups: Mapping[str, TermGroup]
) -> tuple[str, ...]:
    """A rule's list of group names, each one defined."""
    if field_name not in table:
        return ()
    key = f"{rule_key}.{field_name}"
    names = _string_list(source, key, table[field_name], allow_empty=True)
    for i, name in enumerate(names):
        if name not in groups:
            raise _fail(source, f"{key}[{i}]", f"a group defined under [groups] ({', '.join(groups)})", name)
    return names


def _build_rule(source: str, index: int, table: object, groups: Mapping[str, TermGroup]) -> Rule:
    """Validate one `[[rules]]` table."""
    key = f"rules[{index}]"
    if not isinstance(table, dict):
        raise _fail(source, key, "a table", table)
    _check_keys(source, key, table, _RULE_KEYS)
    name = table.get("name", f"rule {index + 1}")
    if not isinstance(name, str) or not name.strip():
        raise _fail(source, f"{key}.name", "a non-empty string", name)
    scope = table.get("in", "all")
    if scope not in SCOPES:
        raise _fail(source, f"{key}.in", "one of " + ", ".join(repr(s) for s in SCOPES), scope)
    all_ = _group_refs(source, key, "all", table, groups)
    any_ = _group_refs(source, key, "any", table, groups)
    none = _group_refs(source, key, "none", table, groups)
    if not all_ and not any_:
        raise ConfigError(f"{source}: {key}: expected a non-empty `all` or `any` list of groups")
    return Rule(name=name.strip(), scope=scope, all=all_, any=any_, none=none)


def build_topic_rules(data: Mapping[str, object], source: str = "topics.toml") -> TopicRules:
    """Compile parsed topics.toml data; a bad value raises ConfigError naming `source` and the key."""
    _check_keys(source, "", data, _TOP_KEYS)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(source, "name", "the topic's name as a non-empty string", name)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _fail(source, "description", "a string", description)
    lead_chars = data.get("lead_chars", DEFAULT_LEAD_CHARS)
    if isinstance(lead_chars, bool) or not isinstance(lead_chars, int) or lead_chars < 1:
        raise _fail(source, "lead_chars", "an integer >= 1", lead_chars)

    raw_groups = data.get("groups")
    if not isinstance(raw_groups, dict) or not raw_groups:
        raise _fail(source, "groups", "at least one [groups.NAME] table", raw_groups)
    groups = {gname: _build_group(source, gname, table) for gname, table in raw_groups.items()}

    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise _fail(source, "rules", "at least one [[rules]] table", raw_rules)
    rules = tuple(_build_rule(source, i, table, groups) for i, table in enumerate(raw_rules))
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.name in seen:
            raise _fail(source, f"rules[{i}].name", "a name not used by an earlier rule", rule.name)
        seen.add(rule.name)
    return TopicRules(
        name=name.strip(),
        groups=groups,
        rules=rules,
        lead_chars=lead_chars,
        description=description,
        events=_build_windows(source, data.get("events", {})),
    )


def _build_windows(source: str, table: object) -> EventWindows:
    """The optional [events] table; each window defaults to the value tuned in bot/core/tuning.py."""
    if not isinstance(table, dict):
        raise _fail(source, "events", "an [events] table", table)
    _check_keys(source, "events", table, _EVENTS_KEYS)
    quiet = _positive_number(source, "events.quiet_hours", table, _MAX_QUIET_HOURS, "hours")
    keep = _positive_number(source, "events.retention_days", table, _MAX_RETENTION_DAYS, "days")
    windows = EventWindows(
        quiet_window=timedelta(hours=quiet) if quiet is not None else DEFAULT_PARAMS.quiet_window,
        retention=timedelta(days=keep) if keep is not None else DEFAULT_PARAMS.retention,
    )
    # An event dropped from memory while still open could never grow again, nor be followed up.
    if windows.retention < windows.quiet_window:
        got = f"{windows.retention} retention against a {windows.quiet_window} quiet window"
        raise _fail(source, "events.retention_days", "a retention no shorter than quiet_hours", got)
    return windows


def _positive_number(source: str, key: str, table: Mapping[str, object], most: int, unit: str) -> float | None:
    """table[key's last part] as a number in (0, most], or None when absent."""
    value = table.get(key.rsplit(".", 1)[-1])
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= most
        # What a timedelta of it keeps: 1e-10 hours is above 0 but rounds to no window at all.
        or timedelta(**{unit: value}) < timedelta(seconds=1)
    ):
        raise _fail(source, key, f"a number of {unit} from one second's worth up to {most}", value)
    return float(value)
