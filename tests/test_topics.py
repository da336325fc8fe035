"""The shipped North Korea–China topic on sentences of our own, and the matcher's rules on small topics."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.topics import TopicRules, build_topic_rules
from bot.core.tuning import DEFAULT_PARAMS
from bot.errors import ConfigError
from bot.models import Article
from bot.settings import load_topics

CONFIG = Path(__file__).resolve().parents[1] / "config"


@pytest.fixture(scope="module")
def rules() -> TopicRules:
    """The shipped topic."""
    return load_topics(CONFIG / "topics.toml")


# (title, text, should match). Sentences written for these tests; none is copied from an article.
TABLE: list[tuple[str, str, bool]] = [
    # both sides in the headline, in the spellings real copy uses
    ("Kim Jong Un arrives in Beijing for talks with Xi", "", True),
    ("Kim Jong-un meets Xi Jinping", "", True),
    ("Kim Jong-Un thanks Chinese leader", "", True),
    ("KIM JONG UN SENDS GREETINGS TO XI", "", True),
    ("Kim Jong–un’s letter reaches Beijing", "", True),  # en dash and curly apostrophe
    ("DPRK and PRC mark treaty anniversary", "", True),
    ("Pyongyang hosts Chinese delegation", "", True),
    ("North Korean workers return from China", "", True),
    ("N.Korea's Kim hails ties with China", "", True),
    ("China s envoy visits North Korea", "", True),  # apostrophe lost as a space
    ("Chinas trade with North Korea rises", "", True),  # apostrophe lost altogether
    ("North Koreas border city reopens to Chinese tourists", "", True),
    ("Xi's message to the Workers Party of Korea", "", True),  # "Workers' Party" without its apostrophe
    ("Peoples Republic of China welcomes DPRK premier", "", True),
    ("Kim arrives in Beijing by armoured train", "", True),  # the short surname, with a China term
    # no headline: both sides and a relationship word in the lead
    ("", "SEOUL - North Korean leader Kim Jong Un sent a message to Chinese President Xi Jinping.", True),
    ("Trade figures", "Customs data show trade between China and North Korea grew last month.", True),
    # the relationship named by one word
    ("Sino-North Korean ties at a crossroads", "", True),
    ("Rail freight resumes on the China-North Korea border", "", True),
    ("Analysis", "The Beijing-Pyongyang relationship has warmed since the summer.", True),
    # CJK: Chinese, Japanese, Korean; no word boundaries
    ("习近平同金正恩举行会谈", "", True),
    ("中朝友好合作互助条约签订纪念日", "", True),
    ("習近平氏、北朝鮮の金正恩氏と会談", "", True),
    ("김정은, 시진핑에 축전", "", True),
    ("북중 국경 무역 재개", "", True),
    ("중국 대표단 평양 도착", "", True),
    # China-only and North Korea-only stories
    ("China's exports slow as demand weakens", "Beijing reported weaker factory output.", False),
    ("North Korea fires ballistic missile into sea", "Pyongyang launched the missile on Tuesday.", False),
    ("", "North Korea fired a missile on Tuesday. " + "Officials met. " * 60 + "China is its main ally.", False),
    # part of a word is not the word
    ("Chinatown parade draws crowds", "A North Korean defector joined the parade.", False),
    ("Korean food festival in China", "", False),  # "Korean" is not North Korea
    ("Taxi exits Sinopec station", "North Korea", False),  # "xi" inside "Taxi", "Sino" inside "Sinopec"
    # phrases that name China without being China
    ("South China Sea tensions rise", "North Korea was not mentioned by the ministers.", False),
    ("North Korea beats Chinese Taipei", "", False),
    ("Fine china auction in Pyongyang", "", False),
    # sport is not diplomacy
    ("North Korea beat China in Asian Cup qualifier", "", False),
    # South Korea's Kims are not Kim Jong Un
    ("South Korean PM Kim Min-seok meets Chinese premier", "", False),
    # CJK words that only contain a term
    ("2026 북중미 월드컵 조추첨 결과", "", False),  # North and Central America, not North Korea–China
    ("북한산 등산객 증가", "중국 관광객도 많다", False),  # Bukhansan, a mountain in Seoul
    ("中国朝鲜族传统节日", "", False),  # China's ethnic Koreans, not the DPRK
]


@pytest.mark.parametrize(("title", "text", "expected"), TABLE)
def test_shipped_topic_table(rules: TopicRules, title: str, text: str, expected: bool) -> None:
    """Each sentence matches, or not, as an analyst of North Korea–China relations would want."""
    result = rules.match(title, text)
    assert result.matched is expected, result.reason


def test_table_is_big_enough() -> None:
    """The table keeps at least 30 rows of both kinds."""
    assert len(TABLE) >= 30
    assert sum(1 for *_, m in TABLE if m) >= 10
    assert sum(1 for *_, m in TABLE if not m) >= 10


def test_terms_and_reason_name_what_matched(rules: TopicRules) -> None:
    """Terms are reported as written in the rules; the reason names the rule and each group's terms."""
    result = rules.match("Kim Jong-un meets Xi Jinping in Beijing", "")
    assert result.matched
    assert result.terms == ("Kim Jong Un", "Beijing", "Xi Jinping")  # "Xi" is inside "Xi Jinping"
    assert result.reason == "headline: korea: Kim Jong Un; china: Beijing, Xi Jinping, Xi"


def test_no_match_says_why(rules: TopicRules) -> None:
    """A miss has no terms; an exclusion is named in the reason."""
    assert rules.match("Weather", "Sunny.") == rules.match("Weather", "Sunny.")
    miss = rules.match("Weather", "Sunny.")
    assert not miss.matched and miss.terms == () and miss.reason == "no rule held"
    excluded = rules.match("North Korea v China: World Cup qualifier", "")
    assert not excluded.matched
    assert "excluded by sport" in excluded.reason


def test_match_article(rules: TopicRules) -> None:
    """match_article reads an Article's title and text."""
    article = Article(
        id="a1", outlet="X", url="https://x.example/1", title="Xi hosts Kim Jong Un", text="", published=None
    )
    assert rules.match_article(article).matched


def _topic(groups: dict[str, object], rules: list[dict[str, object]], **extra: object) -> TopicRules:
    """A small topic built from a dict, as if read from TOML."""
    return build_topic_rules({"name": "t", "groups": groups, "rules": rules, **extra}, "t.toml")


def test_all_any_none() -> None:
    """`all` needs every group, `any` one of them, `none` vetoes."""
    topic = _topic(
        {
            "a": {"terms": ["alpha"]},
            "b": {"terms": ["beta"]},
            "c": {"terms": ["gamma"]},
            "x": {"terms": ["omega"]},
        },
        [{"name": "r", "all": ["a"], "any": ["b", "c"], "none": ["x"]}],
    )
    assert topic.match("alpha beta", "").matched
    assert topic.match("alpha gamma", "").matched
    assert not topic.match("alpha", "").matched
    assert not topic.match("beta gamma", "").matched
    assert not topic.match("alpha beta omega", "").matched


def test_scopes_title_lead_all() -> None:
    """`in` limits where a rule looks: title only, title + lead, or everything."""
    groups = {"a": {"terms": ["alpha"]}}
    text = "x " * 100 + "alpha"  # "alpha" after 200 characters
    title_only = _topic(groups, [{"in": "title", "all": ["a"]}])
    lead = _topic(groups, [{"in": "lead", "all": ["a"]}], lead_chars=100)
    everything = _topic(groups, [{"in": "all", "all": ["a"]}])
    assert not title_only.match("", "alpha").matched
    assert title_only.match("alpha", "").matched
    assert not lead.match("", text).matched
    assert lead.match("", "alpha " + text).matched
    assert everything.match("", text).matched


def test_ignore_phrase_hides_only_its_own_occurrence() -> None:
    """A term inside an ignore phrase does not count; the same term elsewhere does."""
    topic = _topic({"c": {"terms": ["China"], "ignore": ["South China Sea"]}}, [{"in": "all", "all": ["c"]}])
    assert not topic.match("", "Ships in the South China Sea.").matched
    assert topic.match("", "Ships in the South China Sea, said China.").matched


def test_separators_and_glued_s() -> None:
    """Spaces, hyphens, dashes and apostrophes between words are interchangeable; a glued s is allowed."""
    topic = _topic({"k": {"terms": ["Kim Jong Un"]}}, [{"all": ["k"]}])
    for spelling in ["Kim Jong Un", "kim jong-un", "Kim\u00a0Jong\u2011Un", "Kim Jong–Un", "Kim Jong Uns"]:
        assert topic.match(spelling, "").matched, spelling
    for other in ["Kim Jong", "Kim Jongun", "Kim. Jong Un", "XKim Jong Un", "Kim Jong Unity"]:
        assert not topic.match(other, "").matched, other


def test_terms_that_are_not_plain_words() -> None:
    """Terms with dots and apostrophes ("N. Korea", "Xi'an") match their spellings as whole words."""
    topic = _topic({"k": {"terms": ["N. Korea", "U.S.", "Xi'an"]}}, [{"all": ["k"]}])
    assert topic.match("N. Korea talks", "").terms == ("N. Korea",)
    assert topic.match("talks in Xi’an", "").terms == ("Xi'an",)
    assert topic.match("the U.S. said", "").terms == ("U.S.",)
    assert not topic.match("the US said", "").matched


def test_long_article_is_fast(rules: TopicRules) -> None:
    """A 1,000-word article costs well under 0.1 ms to match (median of many runs, generous for CI)."""
    words = ("The ministers met in the capital on Tuesday to discuss trade, energy and the weather " * 70).split()
    text = " ".join(words[:1000])
    title = "Officials meet to discuss regional trade"
    rules.match(title, text)
    timings = []
    for _ in range(200):
        start = time.perf_counter()
        rules.match(title, text)
        timings.append(time.perf_counter() - start)
    timings.sort()
    assert timings[len(timings) // 2] < 0.0001


ONE_GROUP = {"a": {"terms": ["x"]}}


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"groups": {"a": {"terms": ["x"]}}, "rules": [{"all": ["a"]}]}, "name"),
        ({"name": "t", "rules": [{"all": ["a"]}]}, "groups"),
        ({"name": "t", "groups": {"a": {"terms": ["x"]}}}, "rules"),
        ({"name": "t", "groups": {"a": {"terms": []}}, "rules": [{"all": ["a"]}]}, "groups.a.terms"),
        ({"name": "t", "groups": {"a": {}}, "rules": [{"all": ["a"]}]}, "groups.a.terms"),
        ({"name": "t", "groups": {"a": {"terms": ["x", ""]}}, "rules": [{"all": ["a"]}]}, "groups.a.terms[1]"),
        ({"name": "t", "groups": {"a": {"terms": ["x", 3]}}, "rules": [{"all": ["a"]}]}, "groups.a.terms[1]"),
        ({"name": "t", "groups": {"a": {"terms": ["—"]}}, "rules": [{"all": ["a"]}]}, "groups.a.terms[0]"),
        ({"name": "t", "groups": {"a": {"terms": "x"}}, "rules": [{"all": ["a"]}]}, "groups.a.terms"),
        ({"name": "t", "groups": {"a": {"terms": ["x"], "term": 1}}, "rules": [{"all": ["a"]}]}, "groups.a.term"),
        ({"name": "t", "groups": {"a": {"terms": ["x"]}}, "rules": [{"all": ["b"]}]}, "rules[0].all[0]"),
        (
            {"name": "t", "groups": ONE_GROUP, "rules": [{"all": ["a"], "none": ["z"]}]},
            "rules[0].none[0]",
        ),
        ({"name": "t", "groups": {"a": {"terms": ["x"]}}, "rules": [{"none": ["a"]}]}, "rules[0]"),
        ({"name": "t", "groups": {"a": {"terms": ["x"]}}, "rules": [{"all": ["a"], "nnone": []}]}, "rules[0].nnone"),
        ({"name": "t", "groups": {"a": {"terms": ["x"]}}, "rules": [{"all": ["a"], "in": "body"}]}, "rules[0].in"),
        ({"name": "t", "groups": {"a": {"terms": ["x"]}}, "rules": [{"all": ["a"]}], "lead_chars": 0}, "lead_chars"),
        ({"name": "t", "groups": {"a": {"terms": ["x"]}}, "rules": [{"all": ["a"]}], "extra": 1}, "extra"),
        (
            {"name": "t", "groups": {"a": {"terms": ["x"]}}, "rules": [{"name": "r", "all": ["a"]}] * 2},
            "rules[1].name",
        ),
    ],
)
def test_bad_topic_data_names_file_and_key(data: dict[str, object], key: str) -> None:
    """Every bad value raises ConfigError naming the file and the key."""
    with pytest.raises(ConfigError) as info:
        build_topic_rules(data, "config/topics.toml")
    assert str(info.value).startswith(f"config/topics.toml: {key}:"), str(info.value)


@pytest.mark.parametrize(
    ("events", "key"),
    [
        (12, "events"),
        ({"quiet": 1}, "events.quiet"),
        ({"quiet_hours": 0}, "events.quiet_hours"),
        ({"quiet_hours": "12"}, "events.quiet_hours"),
        ({"quiet_hours": True}, "events.quiet_hours"),
        ({"quiet_hours": 720.5}, "events.quiet_hours"),
        ({"retention_days": -1}, "events.retention_days"),
        ({"quiet_hours": 48, "retention_days": 1}, "events.retention_days"),
        # Positive, but zero once a timedelta (microseconds): an event would close at once.
        ({"quiet_hours": 1e-10}, "events.quiet_hours"),
        ({"quiet_hours": 1e-10, "retention_days": 1e-12}, "events.quiet_hours"),
    ],
)
def test_bad_event_windows_name_file_and_key(events: object, key: str) -> None:
    """Every bad [events] value raises ConfigError naming the file and the key."""
    data = {"name": "t", "groups": ONE_GROUP, "rules": [{"all": ["a"]}], "events": events}
    with pytest.raises(ConfigError) as info:
        build_topic_rules(data, "config/topics.toml")
    assert str(info.value).startswith(f"config/topics.toml: {key}:"), str(info.value)


def test_event_windows_default_to_the_tuned_values_and_can_be_set() -> None:
    """Without [events] the tuned windows apply; with it, the event index gets the topic's own."""
    plain = _topic(ONE_GROUP, [{"all": ["a"]}])
    assert plain.events.cluster_params() == DEFAULT_PARAMS
    slow = _topic(ONE_GROUP, [{"all": ["a"]}], events={"quiet_hours": 36, "retention_days": 30.5})
    params = slow.events.cluster_params()
    assert (params.quiet_window, params.retention) == (timedelta(hours=36), timedelta(days=30.5))
    assert dataclasses.replace(
        params, quiet_window=DEFAULT_PARAMS.quiet_window, retention=DEFAULT_PARAMS.retention
    ) == (DEFAULT_PARAMS)
