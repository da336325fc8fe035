"""Every tuned number of the event core in one place, each with the data that justified it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class ClusterParams:
    """Thresholds, windows and weights of fingerprinting, event grouping and summaries."""

    # --- fingerprint -------------------------------------------------------------------------------
    # Text beyond this is ignored for comparison and summaries: leads carry the event; a 1 MB article
    # then costs what a 3,500-word one does. ECB+ and seed articles are all < 6,000 chars.
    max_chars: int = 20_000
    # Title terms count this many times a body occurrence: titles name the event. UCI (titles only) is
    # indifferent; on ECB+ the first line acts as a title and 2.0 beat 1.0 and 3.0 (eval/eval_ecbplus.py).
    title_weight: float = 2.0
    # Terms capitalised mid-sentence anywhere in an article's body (names, places) weigh this much more,
    # as whole terms (a name that also opens a sentence keeps its boost; boosting per occurrence let
    # one-off names drown the subject: ECB+ topic 4 split into 9 events). ECB+ B3 F1 with the name
    # conflict test (scratch clusterer, cosine 0.32): 2.0 → 0.879, 3.0 → 0.87, 4.0 → 0.87; per-occurrence
    # boosting (the previous scheme) peaked at 4.0 → 0.871.
    entity_weight: float = 2.0
    # Words of the URL's slug count this much per occurrence (0 = ignored). UCI B3 F1 (with the headline
    # ranking and reprint rules of cluster.py, idf_smoothing 3, short cosine 0.07) 0.792 at 0 → 0.823 at
    # 1.0; ECB+ (synthetic URLs, one slug word "doc") unchanged at 0.8866.
    url_weight: float = 1.0
    # An arriving article is compared with events' centroids by a vector in which a body occurrence beyond a
    # term's first adds this much to the term's count (title and URL words count as above; 1 = every one counts;
    # keep it ≥ 0). Repeats say what one long text dwells on, not which happening it reports. The centroid still
    # sums its members' vectors with repeats counted (what the event's reports dwell on, which summaries rank
    # sentences by), and the article's strongest 64 terms, its look-up and its posting lists still count them:
    # by presence alone the strongest terms are one-off words (a scratch variant weighing everything so: ECB+ B3 F1
    # 0.908 → 0.681, the look-up found few candidates). Pairs of reports within an ECB+ topic (9,057, same event
    # or not; .venv/bin/python -m eval.eval_ecbplus_pairs): AUC of their cosine 0.904 counting repeats, 0.912
    # counting none over the same 64 terms. ECB+ B3 F1, the other defaults
    # as here: 1 / 0.5 / 0 → 0.9052 / 0.9061 / 0.9230; UCI (titles) and the seeds cannot change. Comparing with
    # a centroid of presence vectors too scored 0.9215 but changed 24 of 65 ECB+ summaries (mostly their third
    # sentence, not for the better); this way none change. The benchmark's synthetic full texts, whose reports
    # share only a few names and topic words said again and again, group less well: B3 F1 0.961 → 0.926 over its
    # 5,000 (bench_assign prints it; feed items 0.290 → 0.301).
    body_repeat_weight: float = 0.0
    # Who an article is about, for the name conflict test: its body name with the largest (1 + k·log n)·idf, n
    # its count as the vector counts it (title occurrences at title_weight); k = 1 weighs names as the vector
    # does. A rare name said once (the opposing team) outranked the subject named throughout (ECB+ topic 25:
    # "Carolina" over Reggie Bush). ECB+ B3 F1 k = 1 / 1.5 / 2 / 3 → 0.9182 / 0.9230 / 0.9230 / 0.9230. On the
    # ECB+ topic pairs above (eval_ecbplus_pairs), each name looked for among the other report's terms, the test
    # flags 63.4 % of different-event pairs and 6.7 % of same-event ones with k = 2 (k = 1: 64.8 % and 8.0 %).
    name_repeat_weight: float = 2.0
    # Added to every document frequency: damps the weight of terms seen once or twice (typos, one-off
    # words) that would otherwise dominate a short headline's vector. With the other defaults here:
    # UCI B3 F1 1 → 0.810, 3 → 0.823; ECB+ 1 → 0.879, 3 → 0.887.
    idf_smoothing: float = 3.0
    # Word 3-shingles: seeds' Reuters/SCMP reprint Jaccard 0.56, unrelated same-topic seed 0.04
    # (2-shingles: 0.65 vs 0.07; 4: 0.51 vs 0.03); 3 separates best.
    shingle_size: int = 3

    # --- reprints (MinHash) -------------------------------------------------------------------------
    # 120 permutations: an estimated Jaccard near the 0.35 threshold has a standard error of ≈ 0.044.
    num_perm: int = 120
    # Verified (estimated) shingle Jaccard for a reprint: seeds' reprint 0.56 vs 0.04 for an unrelated
    # report on the same topic; 0.35 leaves room for heavier edits than SCMP made.
    reprint_jaccard: float = 0.35
    # The held articles whose signatures are compared with a new one's: the ones the term index ranks
    # closest (member cosine), and the one with the very same signature. A near-copy shares the strongest
    # terms of its original, so no LSH is needed to find it. Against MinHash LSH (40 bands of 3 rows,
    # every article: 4.1 KiB of resident memory an article), the closest 1 / 2 / 4 / 8 / 16 found the same
    # reprint in the benchmark's 3,000 full texts (785 reprints at 5,000) but 5 / 1 / 0 / 0 / 0 times; in
    # ECB+ all 48 and 2 more that the bands had missed (at 4 and up); in the real feeds and seeds all. UCI's
    # word-for-word headline copies, some beyond the closest 8, are found by their signature: its replay
    # did not change.
    reprint_max_verify: int = 8
    # … among those with at least this member cosine: the reprints found had 0.24 and up in the benchmark's
    # full texts (wire copies with furniture added and apostrophes lost), 0.32 in ECB+, 0.36 in UCI, 0.59
    # in the seeds, 0.87 in the real feeds. 38 % of the benchmark's full texts have no held article that
    # close, and compare no signature.
    reprint_min_cosine: float = 0.2
    # Fewer shingles than this and MinHash is unreliable: such short texts only reprint when identical.
    reprint_min_shingles: int = 8

    # --- same event (TF-IDF cosine against event centroids) ---------------------------------------
    # Centroid cosine at or above which an article of long_text_terms distinct terms joins an open event; shorter
    # and longer ones ramp down from it (below). When it was the threshold of every full text, ECB+ B3 F1 with
    # whole-term name boosts and the name conflict test: 0.28 → 0.871, 0.30 → 0.874, 0.32 → 0.880, 0.35 → 0.865.
    # With the ramps as now: 0.30 / 0.32 / 0.34 → 0.9238 / 0.9230 / 0.9230, so ECB+ does not choose it, and UCI
    # (0.8229 at all three) nor the real feeds' labelled pairs do much more (0.34: 22/22 different pairs apart against
    # 21/22, 112 joins against 113). It stays where it was; what it must not fall to: see full_text_cosine.
    same_event_cosine: float = 0.32
    # The same for headline-only items (≤ short_text_terms distinct terms), ramping linearly up to
    # same_event_cosine at long_text_terms: a 6-word title shares few words even with its own story.
    # UCI headlines (titles only, URL words 1.0, idf smoothing 3) B3 F1: 0.07 → 0.823, 0.08 → 0.820,
    # 0.10 → 0.808; ECB+ 0.8866 at 0.07 and 0.08, 0.8878 at 0.10.
    short_event_cosine: float = 0.07
    short_text_terms: int = 10
    long_text_terms: int = 40
    # Beyond long_text_terms distinct terms the threshold ramps down again, to full_text_cosine at
    # full_text_terms and beyond: compared without their repeats (body_repeat_weight), long texts spread their
    # weight over more terms, and their cosines to their own event run lower. ECB+ (median ≈ 100 distinct terms)
    # B3 F1, the other defaults as here: full_text_cosine 0.27 / 0.28 / 0.29 / 0.30 / 0.31 / 0.32 (no ramp) →
    # 0.9171 / 0.9238 / 0.9230 / 0.9230 / 0.9191 / 0.9114; 0.29 is the middle of the plateau (0.28 scores a
    # document more, and the real feeds 322 events and 114 joins, not 323 and 113). Ending the ramp at
    # 80 / 120 terms: 0.9238 / 0.9230. UCI (headlines, ≤ 40 terms) unchanged, 0.823. Not one low threshold for
    # every text: 0.29 throughout (same_event_cosine too) gives ECB+ 0.9238 but UCI 0.816, as its longer
    # headlines ramp up to it; and 0.28 from 40 terms on joined two made-up North Korea–China events of the fault
    # tests (tests/faults/helpers.py: a headline, one sentence and 40 words of their own, ≈ 60 terms) at 0.285 on
    # the topic's names alone, as a topic channel's items all name its countries; the ramp keeps such texts near
    # 0.31.
    full_text_cosine: float = 0.29
    full_text_terms: int = 100
    # Share of the join score taken by the cosine of the article's lead (the distinct terms among its first
    # lead_terms content terms, title first, weighed as the whole text weighs them; with a zero title_weight a
    # title-only term has no weight, so none in the lead either) to the event's summed lead vectors; only for items
    # with body text (a headline's lead is its title). ECB+ B3 F1 0.8785 → 0.8866 (weight 0.2 → 0.884, 0.4 → 0.8865;
    # lead 60 → 0.881, 100 → 0.884); UCI unaffected. The lead's terms were then weighted by their counts within the
    # lead; they now keep the whole text's weights (cluster.py, _prepare: 2.5 % fewer instructions an article). With
    # all else as now, ECB+ 0.9080 → 0.9067 (one document each way: a topic 3 report joins its event, a topic 18 one
    # starts its own), UCI and seeds unchanged; in the 12 real feeds one German IS report leaves the Australians'
    # repatriation story and two Ukraine pieces move between the Iran and the Geneva talks events, the 50 labelled
    # pairs unchanged. Weight 0.2 / 0.4 / 0.5 → 0.906 / 0.907 / 0.910: one or two documents, so 0.3 stayed then.
    # Lead 60 / 80 / 100 → 0.9087 / 0.9067 / 0.9060, and a lead of 60 terms leaves the feeds' events, UCI and the
    # seeds as they were: taken for the memory it saves (an event sums its members' leads: resident memory 10.06
    # → 9.68 KB an article for full texts, 9.0 → 8.5 for short ones). Since articles are compared without their
    # body repeats and names are chosen by name_repeat_weight: weight 0.3 / 0.35 / 0.4 / 0.45 / 0.5 → 0.9181 /
    # 0.9225 / 0.9230 / 0.9238 / 0.9182: 0.4, the middle of the 0.35–0.45 plateau.
    lead_weight: float = 0.4
    lead_terms: int = 60
    # An item with body text joins an event on its centroid only when the cosine left after taking out
    # its strongest shared term is at least this: one shared word (a country, "Olympic") is no event.
    # The 12 real feeds in ../shared/data/feeds/news-2026-02 (436 world-news items, title + summary,
    # --no-filter; eval/eval_feeds.py): 143 joins → 115. By their titles, 26 of the 28
    # joins it stops were different happenings (Germany's inflation figure into AOC's trip to Germany, a
    # bobsled final and a curling venue into one Olympic event); 2 were Munich Security Conference
    # pieces. 0.05 stopped 20, all different happenings; 0.1 also split stories told in two outlets'
    # words. ECB+ 0.9044 → 0.9080 (topic 23; 0.05: unchanged), UCI and seeds unchanged. Headline-only
    # items are exempt: one shared rare name is how UCI headlines of one story meet (applied to them,
    # 0.02 cost UCI 0.823 → 0.728).
    min_cosine_beyond_top_term: float = 0.08
    # Dates and quantities a full text states (bot/core/anchors.py), added to both the centroid and the
    # member score of an open event. ECB+ gives every article one time, so a topic's two lookalike events
    # differ only in what the texts say: a magnitude 5.6 or 6.1 quake, five hurt or fifty, the calendar
    # date of the happening. ECB+ B3 F1 0.887 → 0.904 (P 0.865 → 0.888, R 0.909 → 0.921); UCI (headlines,
    # which take no anchors) and seeds unchanged. Sweeps (eval/, one value changed at a time):
    # quantity penalty 0 / 0.1 / 0.15 / 0.2 → 0.897 / 0.902 / 0.904 / 0.901 (a veto: 0.878, as tolls get
    # updated and outlets round; scratch run); date bonus 0 / 0.05 / 0.1 / 0.2 → 0.895 / 0.901 / 0.904 /
    # 0.905; date tolerance 0 / 1 / 3 days → 0.895 / 0.904 / 0.904. A penalty for differing dates lost
    # recall (0.885 at 0.1, scratch run): reports of one event also name earlier and planned dates.
    # Anchors from titles too: UCI 0.823 → 0.819.
    # 0.1, not 0.2: within 0.001 on ECB+, and half the pull between a live news day's unrelated stories.
    anchor_date_bonus: float = 0.1
    anchor_date_days: int = 1
    anchor_quantity_penalty: float = 0.15
    # Dates this close to the article's own publication day say when it was written (a dateline, a
    # PUBLISHED line), not when the happening was: every report of a news day carries them, so they would
    # pull the day's unrelated stories together.
    dateline_days: int = 1
    max_event_anchors: int = 32
    # Best-member cosine (over both articles' strongest terms) at or above which an article joins that
    # member's open event even when the centroid is far. Lower values chain unrelated stories: UCI B3
    # precision falls to 0.32 at 0.2 and 0.60 at 0.25; at ≥ 0.5 it no longer hurts either set.
    member_cosine: float = 0.6
    # Terms kept in a fingerprint / event centroid: bounds memory and per-comparison cost.
    max_article_terms: int = 64
    max_centroid_terms: int = 200
    # The article's highest-weighted terms used to look up candidate events in the inverted index.
    query_terms: int = 16
    # Candidate events (ranked by best member score) whose centroid cosine is computed per article.
    max_candidates: int = 8
    # Each posting list keeps only the most recent articles with that term, so per-article cost is
    # bounded as history grows (bench/bench_assign.py). ECB+ needs it this long: 32 → F1 0.83, 64 → 0.87
    # (one topic's 20–40 articles share their topic words).
    posting_cap: int = 64
    # An article's strongest terms put into the inverted index (and so used for member cosines).
    posting_terms: int = 16

    # --- time ----------------------------------------------------------------------------------------
    # An event with no new member for this long is closed: a later similar report is a new event that
    # follows it. Seeds: Xi's reply arrives 7.7 days after Kim's note and must split. UCI B3 F1 (stale
    # events stop attracting same-company headlines): 8 h → 0.759, 12 h → 0.750, 18 h → 0.736,
    # 24 h → 0.737, 36 h → 0.735, 72 h → 0.736. 12 h, not 8: an overnight lull should not split a story.
    quiet_window: timedelta = timedelta(hours=12)
    # Events whose last member is older than this leave the in-memory index (reprints, follows).
    retention: timedelta = timedelta(days=14)
    # Publication dates later than the clock by more than this are clamped to the clock.
    future_tolerance: timedelta = timedelta(hours=1)

    # --- follow-ups --------------------------------------------------------------------------------
    # A new event follows an earlier one when its cosine to it is at least this … (0.30, not 0.25: with
    # idf_smoothing 3 an unrelated story on the same two countries scored above 0.25 in
    # tests/test_service_e2e.py; the seeds' real follow-up scores 0.54).
    follow_cosine: float = 0.30
    # … they share at least this many name-like terms (seeds: Kim, Xi, Jinping, Pyongyang …) …
    follow_min_entities: int = 3
    # … and it comes at least this long after the earlier event began (a later happening, not a
    # lookalike in the same news cycle; ECB+ puts all articles at one time and must record none).
    follow_min_gap: timedelta = timedelta(hours=12)

    # --- summaries ---------------------------------------------------------------------------------
    summary_max_chars: int = 400
    summary_max_sentences: int = 3
    # Sentences considered per article (leads carry the facts) and articles per event. With 8, the summaries
    # of ECB+ and of the 12 real feeds drew 3 % and 1 % of their sentences from positions 7 and 8 (221 and 414
    # sentences; 65 % and 72 % from the first). 6 changes 7 of 78 ECB+ and 5 of 323 feed summaries; read one
    # by one, 4 are better (a quake's toll instead of where it was felt; a Duke game summary without another
    # team's game), 4 worse (a photo caption, a quote fragment, two lose their third sentence) and 4 as
    # good. It leaves 3.8 % of the instructions an article takes (callgrind, synthetic full texts).
    summary_sentences_per_article: int = 6
    summary_articles: int = 12
    # Only the start of a text is scanned for summary sentences: the facts are in the lead, and a
    # 1 MB article must cost no more than a normal one.
    summary_scan_chars: int = 6000
    # Sentence-level near-duplicate threshold (word Jaccard) between outlets' variants of one sentence.
    summary_dup_jaccard: float = 0.5
    # Only this many top-ranked candidates are grouped into variants and scored (grouping is quadratic):
    # three sentences are chosen, and 24 leaves room for eight outlets' variants of each.
    summary_rank_pool: int = 24
    headline_max_chars: int = 140


DEFAULT_PARAMS = ClusterParams()
