"""End-user and consignee screening against denied-party lists.

Names are normalised (transliterated to ASCII, so Chinese characters become pinyin; lower case; punctuation and
legal forms removed) into two keys: the tokens in order and the tokens sorted, both without spaces. Candidates are
found by blocking on shared character grams (one sparse matrix product per chunk of queries), then scored with
the Indel ratio (RapidFuzz's fuzz.ratio: 200 x longest common subsequence / total length) on both keys; a country that
agrees adds to the score and one that differs takes from it. Every hit says which listed name or alias matched, the
name score, the country adjustment and the band.

The ratio of the candidate pairs is computed set-wise: the list's keys are encoded once, at index build, as a byte
matrix; each query's characters become bit masks, and the longest common subsequence of every pair is found at once
with the bit-parallel recurrence (Hyyro 2004), one numpy step per character position, in chunks spread over the
cores. Scoring pair by pair with RapidFuzz converts both strings of every pair and costs about three times as much.
Keys longer than 64 characters (or not ASCII) are scored by RapidFuzz itself; the two give identical scores.

Lists load from CSV or FollowTheMoney JSON lines; a new file is applied as a delta (added, changed, removed
entities), and every version's entries stay queryable."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pycountry
import scipy.sparse as sp
from anyascii import anyascii
from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from restrat.errors import InputError, NotFound, Problem
from restrat.exports import models
from restrat.store.bulk import insert_rows

LEGAL_FORMS = frozenset((
    "ltd", "limited", "co", "company", "corp", "corporation", "inc", "incorporated", "llc", "plc", "gmbh", "mbh", "ag",
    "kg", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "ab", "oy", "as", "kk", "jsc", "ojsc", "pjsc", "cjsc", "ooo",
    "zao", "oao", "llp", "lp", "pte", "pty", "sdn", "bhd", "se", "the", "of", "and"))
# Chinese legal forms and industry words after transliteration (rare earth, metal, technology, trade, materials,
# group), stripped from the end of the compact key.
CN_LEGAL_SUFFIXES = ("gufenyouxiangongsi", "youxianzerengongsi", "youxiangongsi", "gongsi", "zhushihuishe",
                     "gufen", "jituan", "xitu", "jinshu", "keji", "maoyi", "cailiao")
CN_LEGAL_WORDS = frozenset(("youxian", "gongsi", "gufen", "zeren", "youxiangongsi", "jituan"))
GRAM = 4  # characters per gram used for blocking
_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_SUFFIX = re.compile("(?:" + "|".join(CN_LEGAL_SUFFIXES) + ")+$")


@dataclass(frozen=True)
class Thresholds:
    """Score bands (0-100) and the country adjustment; tunable per call."""

    review: float = 80.0
    potential: float = 90.0
    country_match: float = 5.0
    country_mismatch: float = -10.0
    block_min_shared: float = 0.35  # blocking: share of its grams a key must share with a query


def tokenise(names: Iterable[str]) -> list[tuple[list[str], bool]]:
    """Each name as lower-case ASCII tokens without punctuation and legal forms, and whether it was written in
    Chinese or Japanese characters (then the tokens are pinyin syllables, not words)."""
    out = []
    for name in names:
        raw = str(name or "")
        cjk = _CJK.search(raw) is not None
        text = anyascii(raw)
        if cjk:  # each character became a capitalised pinyin syllable: split them
            text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
        text = _NON_ALNUM.sub(" ", text.lower().replace(".", "").replace("&", " and "))
        out.append(([t for t in text.split() if t not in LEGAL_FORMS], cjk))
    return out


def common_words(tokenised: list[tuple[list[str], bool]], *, share: float = 0.002, at_least: int = 20
                 ) -> frozenset[str]:
    """Words in more than a small share of a list's names ("trading", "holdings"): they say little about who a
    party is, so they are left out of the keys (a name made only of them keeps them)."""
    words = pd.Series([t for tokens, cjk in tokenised if not cjk for t in set(tokens)], dtype=object)
    counts = words.value_counts()
    return frozenset(counts.index[counts > max(at_least, share * len(tokenised))])


def normalise(names: Iterable[str], common: frozenset[str] = frozenset(), *, fuzzy_common: bool = False
              ) -> tuple[list[str], list[str]]:
    """The ordered and the sorted compact key of each name (see the module docstring); with fuzzy_common, words
    close to a common word (a misspelt "Logistcs") are left out too."""
    ordered, sorted_ = [], []
    choices = sorted(common) if fuzzy_common else []
    for tokens, cjk in tokenise(names):
        words = [t for t in tokens if t not in common and not (
            choices and len(t) >= 5 and process.extractOne(t, choices, scorer=fuzz.ratio, score_cutoff=80))] or tokens
        joined = "".join(words)
        compact = _SUFFIX.sub("", joined) or joined
        ordered.append(compact)
        plain = [t for t in words if t not in CN_LEGAL_WORDS] or words
        sorted_.append(compact if cjk or len(plain) < 2 else "".join(sorted(plain)))
    return ordered, sorted_


def _gram_matrix(keys: Sequence[str], vocab: dict[str, int], *, grow: bool) -> sp.csr_matrix:
    indptr, indices = [0], []
    for key in keys:
        padded = f" {key} "
        grams = {padded[i:i + GRAM] for i in range(len(padded) - GRAM + 1)}
        cols = []
        for g in grams:
            j = vocab.get(g)
            if j is None and grow:
                j = vocab[g] = len(vocab)
            if j is not None:
                cols.append(j)
        indices.extend(cols)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix((data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
                         shape=(len(keys), max(len(vocab), 1)))


WIDTH = 64  # characters a key may have to be scored bit-parallel (one uint64 per pair)
ALPHABET = 128  # ASCII codes
PAIR_CHUNK = 250_000  # pairs per scoring step: small enough to stay in cache, large enough to amortise numpy calls
_ALL = np.uint64(2**64 - 1)


def encode_keys(keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keys as a (WIDTH, n) byte matrix (row j holds every key's j-th ASCII code, 0 past its end), their lengths, and
    which keys are too long or not ASCII for the bit-parallel scorer (their matrix column is empty)."""
    length = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    wide = length > WIDTH
    wide |= ~np.fromiter((k.isascii() for k in keys), dtype=bool, count=len(keys))
    fixed = np.array(["" if w else k for k, w in zip(keys, wide, strict=True)], dtype=f"S{WIDTH}")
    chars = np.ascontiguousarray(fixed.view(np.uint8).reshape(len(keys), WIDTH).T)
    return chars, length, wide


def pattern_masks(chars: np.ndarray) -> np.ndarray:
    """Per key (columns of an encode_keys matrix) and character code, the bit mask of the positions it holds."""
    pos, rows = np.nonzero(chars)
    masks = np.zeros((chars.shape[1], ALPHABET), dtype=np.uint64)
    np.bitwise_or.at(masks, (rows, chars[pos, rows]), np.left_shift(np.uint64(1), pos.astype(np.uint64)))
    return masks


def _lcs(masks: np.ndarray, q_len: np.ndarray, qi: np.ndarray, chars: np.ndarray, k_len: np.ndarray,
         ki: np.ndarray) -> np.ndarray:
    """Longest common subsequence of query qi[p] and key ki[p] for every pair p (bit-parallel, all pairs at once)."""
    order = np.argsort(-k_len[ki], kind="stable")  # longest keys first: step j touches a prefix of the pairs
    qi, ki = qi[order], ki[order]
    neg_len = -k_len[ki]
    flat = masks.ravel()
    base = qi.astype(np.intp) * ALPHABET
    v = np.full(len(qi), _ALL)
    for j in range(int(-neg_len[0]) if len(qi) else 0):
        n = int(np.searchsorted(neg_len, -j, side="left"))  # pairs whose key has a j-th character
        x = flat.take(base[:n] + chars[j].take(ki[:n]))
        head = v[:n]
        u = head & x
        v[:n] = (head + u) | (head - u)
    lq = q_len[qi]
    used = np.where(lq >= WIDTH, _ALL, np.left_shift(np.uint64(1), np.minimum(lq, WIDTH - 1).astype(np.uint64))
                    - np.uint64(1))
    out = np.empty(len(qi), dtype=np.int64)
    out[order] = np.bitwise_count(~v & used)
    return out


Encoded = tuple[np.ndarray, np.ndarray, np.ndarray]


def indel_ratio(queries: Sequence[str], keys: Sequence[str] | np.ndarray, qi: np.ndarray, ki: np.ndarray,
                encoded: Encoded | None = None, query_encoded: Encoded | None = None, *,
                query_masks: np.ndarray | None = None, workers: int = 0) -> np.ndarray:
    """fuzz.ratio(queries[qi[p]], keys[ki[p]]) for every pair p, set-wise (either side may come already encoded,
    the queries with their pattern masks; workers 0: one per core)."""
    k_chars, k_len, k_wide = encoded if encoded is not None else encode_keys(list(keys))
    q_chars, q_len, q_wide = query_encoded if query_encoded is not None else encode_keys(list(queries))
    masks = query_masks if query_masks is not None else pattern_masks(q_chars)
    score = np.empty(len(qi), dtype=np.float64)
    fast = np.flatnonzero(~(q_wide[qi] | k_wide[ki]))
    chunks = [fast[i:i + PAIR_CHUNK] for i in range(0, len(fast), PAIR_CHUNK)]
    workers = min(len(chunks), workers or os.cpu_count() or 1)
    if workers > 1:  # numpy releases the GIL in the steps, so chunks run on the cores side by side
        with ThreadPoolExecutor(workers) as pool:
            common = list(pool.map(lambda c: _lcs(masks, q_len, qi[c], k_chars, k_len, ki[c]), chunks))
    else:
        common = [_lcs(masks, q_len, qi[c], k_chars, k_len, ki[c]) for c in chunks]
    if chunks:
        total = q_len[qi[fast]] + k_len[ki[fast]]
        lcs = np.concatenate(common)
        score[fast] = np.where(total == 0, 100.0, 200.0 * lcs / np.maximum(total, 1))
    slow = np.flatnonzero(q_wide[qi] | k_wide[ki])
    if len(slow):
        q_arr, k_arr = np.asarray(queries, dtype=object), np.asarray(keys, dtype=object)
        score[slow] = process.cpdist(q_arr[qi[slow]].tolist(), k_arr[ki[slow]].tolist(), scorer=fuzz.ratio)
    return score


def char_counts(encoded: Encoded) -> np.ndarray:
    """Per key, how often it holds each letter and digit (a last column counts any other character)."""
    chars = encoded[0]
    bucket = np.full(ALPHABET, 36, dtype=np.intp)
    bucket[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)] = np.arange(36)
    pos, rows = np.nonzero(chars)
    counts = np.zeros((chars.shape[1], 37), dtype=np.int8)  # at most WIDTH of one character
    np.add.at(counts, (rows, bucket[chars[pos, rows]]), 1)
    return counts


def bag_distance(q_counts: np.ndarray, k_counts: np.ndarray, qi: np.ndarray, ki: np.ndarray) -> np.ndarray:
    """Sum over characters of the count difference of every pair: a lower bound of its Indel distance, since each
    insertion or deletion changes one character count by one."""
    out = np.empty(len(qi), dtype=np.int64)
    for start in range(0, len(qi), PAIR_CHUNK):
        part = slice(start, start + PAIR_CHUNK)
        out[part] = np.abs(q_counts[qi[part]] - k_counts[ki[part]]).sum(axis=1)
    return out


def _within_reach(q_enc: Encoded, q_counts: np.ndarray, k_enc: Encoded, k_counts: np.ndarray, qi: np.ndarray,
                  ki: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Which pairs can reach an Indel ratio of need (0-1): a ratio r between lengths m and n allows at most
    (1 - r)(m + n) insertions and deletions, so the length difference and the bag distance must not exceed it.
    Never drops a pair that reaches need; keys the bit-parallel scorer cannot take skip the bag test."""
    lq, lk = q_enc[1][qi], k_enc[1][ki]
    allowed = (1.0 - need) * (lq + lk) + 1e-9
    ok = np.abs(lq - lk) <= allowed
    sub = np.flatnonzero(ok & ~(q_enc[2][qi] | k_enc[2][ki]))
    ok[sub] = bag_distance(q_counts, k_counts, qi[sub], ki[sub]) <= allowed[sub]
    return ok


@dataclass
class Index:
    """A screening list prepared for matching: one row per name or alias."""

    entries: pd.DataFrame  # entity_key, name, country, kind (one row per entity)
    owner: np.ndarray  # key row -> entry row
    label: list[str]  # the listed name or alias of each key row
    ordered: np.ndarray  # compact key, tokens in order
    sorted_: np.ndarray  # compact key, tokens sorted
    reorderable: np.ndarray  # whether the two keys differ
    length: np.ndarray
    country: np.ndarray  # country id (-1 none) per key row
    common: frozenset[str]
    encoded: Encoded = field(repr=False)  # ordered keys, see encode_keys
    encoded_sorted: Encoded = field(repr=False)
    counts: np.ndarray = field(repr=False)  # character counts of the ordered keys, see char_counts
    counts_sorted: np.ndarray = field(repr=False)
    grams: sp.csr_matrix = field(repr=False)
    gram_count: np.ndarray = field(repr=False)  # keys holding each gram
    prefix: sp.csr_matrix = field(repr=False)
    prefix_t: sp.csr_matrix = field(repr=False)  # gram x key, for the blocking product
    vocab: dict[str, int] = field(repr=False)


@cache
def country_code(value: str) -> str | None:
    """ISO 3166 alpha-3 code of a country name or code, or None when it is not a country."""
    text_value = (value or "").strip()
    if not text_value:
        return None
    try:
        return pycountry.countries.lookup(text_value).alpha_3
    except LookupError:
        try:
            return pycountry.countries.search_fuzzy(text_value)[0].alpha_3
        except LookupError:
            return None


_COUNTRY_IDS: dict[str, int] = {}


def _country_id(alpha3: str) -> int:
    if not alpha3:
        return -1
    return _COUNTRY_IDS.setdefault(alpha3, len(_COUNTRY_IDS))


def build_index(entries: pd.DataFrame) -> Index:
    """Index entries (entity_key, name, aliases "|"-separated, country, kind) for screening."""
    names = entries.name.astype(str).to_numpy()
    aliases = entries.aliases.fillna("").astype(str).str.split("|")
    owner = np.concatenate([np.arange(len(entries)), np.repeat(np.arange(len(entries)), aliases.str.len())])
    label = list(names) + [a for group in aliases for a in group]
    keep = [i for i, s in enumerate(label) if s.strip()]
    owner, label = owner[keep], [label[i] for i in keep]
    common = common_words(tokenise(label))
    ordered, sorted_ = normalise(label, common)
    countries = entries.country.fillna("").astype(str).map(lambda c: _country_id(country_code(c) or "")) \
        .to_numpy(dtype=np.int32)
    vocab: dict[str, int] = {}
    grams = _gram_matrix(ordered, vocab, grow=True)
    ordered_a, sorted_a = np.asarray(ordered, dtype=object), np.asarray(sorted_, dtype=object)
    encoded, encoded_sorted = encode_keys(ordered), encode_keys(sorted_)
    gram_count = np.asarray(grams.sum(axis=0)).ravel()
    prefix = _prefix(grams, gram_count, Thresholds.block_min_shared)
    return Index(entries=entries.reset_index(drop=True), owner=owner, label=label, ordered=ordered_a,
                 sorted_=sorted_a, reorderable=ordered_a != sorted_a,
                 length=np.fromiter(map(len, ordered), dtype=np.int32, count=len(ordered)),
                 country=countries[owner], common=common, grams=grams, vocab=vocab,
                 encoded=encoded, encoded_sorted=encoded_sorted, counts=char_counts(encoded),
                 counts_sorted=char_counts(encoded_sorted),
                 gram_count=gram_count, prefix=prefix, prefix_t=prefix.T.tocsr())


def _prefix(grams: sp.csr_matrix, df: np.ndarray, share: float) -> sp.csr_matrix:
    """Each row's rarest grams: as many as two keys sharing share of their grams must have in common at least
    one of (prefix filtering with one global order, rarest first)."""
    g = grams.tocsr()
    rows = np.repeat(np.arange(g.shape[0]), np.diff(g.indptr))
    order = np.lexsort((g.indices, df[g.indices], rows))
    length = np.diff(g.indptr)
    rank = np.arange(len(order)) - g.indptr[rows[order]]
    keep_n = length - np.ceil(share * length).astype(np.int64) + 1
    keep = order[rank < keep_n[rows[order]]]
    return sp.csr_matrix((np.ones(len(keep), dtype=np.float32), (rows[keep], g.indices[keep])), shape=g.shape)


def _query_prefix(index: Index, keys: list[str], t: Thresholds) -> sp.csr_matrix:
    """The rarest grams of each query key (grams the list does not have cannot be shared and are left out)."""
    width = index.grams.shape[1]
    q = _gram_matrix(keys, dict(index.vocab), grow=True)
    df = np.zeros(q.shape[1])
    df[:width] = index.gram_count
    return _prefix(q, df, t.block_min_shared)[:, :width].tocsr()


def _candidates(index: Index, q_prefix: sp.csr_matrix, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Query rows start..stop-1 and the key rows sharing one of their rarest grams, the pairs worth scoring."""
    shared = (q_prefix[start:stop] @ index.prefix_t).tocoo()
    return (shared.row + start).astype(np.int32), shared.col.astype(np.int32)


HIT_COLUMNS = ["query", "name", "entity_key", "listed_name", "matched", "name_score", "country_adjustment", "score",
               "band", "explanation"]


@dataclass
class _Queries:
    """Query keys prepared once per screen call."""

    ordered: np.ndarray
    sorted_: np.ndarray
    encoded: Encoded
    encoded_sorted: Encoded
    counts: np.ndarray
    counts_sorted: np.ndarray
    masks: np.ndarray  # see pattern_masks
    masks_sorted: np.ndarray
    reorderable: np.ndarray
    country: np.ndarray
    prefix: sp.csr_matrix


def _screen_rows(index: Index, q: _Queries, t: Thresholds, start: int, stop: int) -> pd.DataFrame:
    """Scored pairs at or above the review band for query rows start..stop-1."""
    qi, ki = _candidates(index, q.prefix, start, stop)
    kc, qc = index.country[ki], q.country[qi]
    both = (kc >= 0) & (qc >= 0)
    adjust = np.where(both & (kc == qc), t.country_match, np.where(both, t.country_mismatch, 0.0))
    # The name score each pair needs for the review band; pairs that cannot reach it on either key form are not
    # scored (exact: the filters only drop pairs below it). Word order matters only where either side has words to
    # reorder.
    need = (t.review - adjust) / 100.0
    try_a = np.flatnonzero(_within_reach(q.encoded, q.counts, index.encoded, index.counts, qi, ki, need))
    reorder = np.flatnonzero(q.reorderable[qi] | index.reorderable[ki])
    try_b = reorder[_within_reach(q.encoded_sorted, q.counts_sorted, index.encoded_sorted, index.counts_sorted,
                                  qi[reorder], ki[reorder], need[reorder])]
    pairs = np.union1d(try_a, try_b)
    a, b = np.zeros(len(qi)), np.zeros(len(qi))  # 0: cannot reach the band, not scored
    a[try_a] = indel_ratio(q.ordered, index.ordered, qi[try_a], ki[try_a], index.encoded, q.encoded,
                           query_masks=q.masks, workers=1)
    b[try_b] = indel_ratio(q.sorted_, index.sorted_, qi[try_b], ki[try_b], index.encoded_sorted,
                           q.encoded_sorted, query_masks=q.masks_sorted, workers=1)
    qi, ki, a, b, adjust = qi[pairs], ki[pairs], a[pairs], b[pairs], adjust[pairs]
    name_score = np.maximum(a, b)
    score = np.minimum(100.0, name_score + adjust)
    keep = score >= t.review
    return pd.DataFrame({"query": qi[keep], "key": ki[keep], "name_score": name_score[keep].round(1),
                         "order_ignored": (b > a)[keep], "country_adjustment": adjust[keep],
                         "score": score[keep].round(1)})


def screen(index: Index, names: Sequence[str], countries: Sequence[str] | None = None,
           thresholds: Thresholds | None = None, *, chunk: int = 500) -> pd.DataFrame:
    """Every hit at or above the review band, best first per query: which listed name or alias matched, the name
    score (best of token order kept or ignored), the country adjustment, the score and the band. Queries go in
    chunks of `chunk` rows, spread over the cores."""
    t = thresholds or Thresholds()
    ordered, sorted_ = normalise(names, index.common, fuzzy_common=True)
    enc, enc_sorted = encode_keys(ordered), encode_keys(sorted_)
    q = _Queries(ordered=np.asarray(ordered, dtype=object), sorted_=np.asarray(sorted_, dtype=object), encoded=enc,
                 encoded_sorted=enc_sorted, counts=char_counts(enc), counts_sorted=char_counts(enc_sorted),
                 masks=pattern_masks(enc[0]), masks_sorted=pattern_masks(enc_sorted[0]),
                 reorderable=np.asarray(ordered, dtype=object) != np.asarray(sorted_, dtype=object),
                 country=np.asarray([_country_id(country_code(x) or "") for x in (countries or [""] * len(names))],
                                    dtype=np.int32),
                 prefix=_query_prefix(index, ordered, t))
    starts = range(0, len(ordered), chunk)
    workers = min(len(starts), os.cpu_count() or 1)
    if workers > 1:  # numpy and scipy release the GIL in the heavy steps
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(lambda s: _screen_rows(index, q, t, s, s + chunk), starts))
    else:
        parts = [_screen_rows(index, q, t, s, s + chunk) for s in starts]
    hits = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if len(hits) == 0:
        return pd.DataFrame(columns=HIT_COLUMNS)
    hits = hits.sort_values(["query", "score"], ascending=[True, False])
    hits["entry"] = index.owner[hits.key.to_numpy()]
    hits = hits.drop_duplicates(["query", "entry"])
    entries = index.entries
    hits["name"] = np.asarray(names, dtype=object)[hits["query"].to_numpy()]
    hits["entity_key"] = entries.entity_key.to_numpy()[hits.entry.to_numpy()]
    hits["listed_name"] = entries.name.to_numpy()[hits.entry.to_numpy()]
    hits["matched"] = np.asarray(index.label, dtype=object)[hits.key.to_numpy()]
    hits["band"] = np.where(hits.score >= t.potential, "potential_match", "review")
    hits["explanation"] = (
        np.where(hits.matched == hits.listed_name, "name ", "alias ") + "'" + hits.matched.astype(str) + "' scores "
        + hits.name_score.astype(str) + np.where(hits.order_ignored, " (word order ignored)", "")
        + np.where(hits.country_adjustment > 0, "; same country +" + hits.country_adjustment.astype(str),
                   np.where(hits.country_adjustment < 0, "; other country " + hits.country_adjustment.astype(str), ""))
        + " = " + hits.score.astype(str))
    return hits[HIT_COLUMNS].reset_index(drop=True)


def outcome(hits: pd.DataFrame, n: int) -> list[str]:
    """The band of each of n queries: potential_match, review or no_match."""
    best = np.full(n, "no_match", dtype=object)
    order = {"review": 1, "potential_match": 2}
    if len(hits):
        rank = hits.band.map(order).groupby(hits["query"]).max()
        best[rank.index.to_numpy()] = np.where(rank.to_numpy() == 2, "potential_match", "review")
    return list(best)


# ---- lists: loading with deltas and versions ---------------------------------------------------------------------

LIST_COLUMNS = ("entity_key", "name", "aliases", "country", "kind")
FTM_SCHEMATA = {"Person", "Company", "Organization", "LegalEntity", "PublicBody", "Vessel", "Airplane"}


def read_csv_list(data: bytes | str | Path) -> pd.DataFrame:
    """Entities from a CSV with columns entity_key (or id), name, aliases ("|" or ";"-separated), country, kind."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise InputError(Problem(field="file", rule=f"not a readable CSV: {e}")) from None
    df = df.rename(columns={"id": "entity_key"})
    missing = [c for c in ("entity_key", "name") if c not in df.columns]
    if missing:
        raise InputError([Problem(field=c, rule="column is required") for c in missing])
    for c in LIST_COLUMNS:
        if c not in df.columns:
            df[c] = ""
    df["aliases"] = df.aliases.str.replace(";", "|")
    return _checked(df[list(LIST_COLUMNS)])


def read_ftm_list(data: bytes | str | Path) -> pd.DataFrame:
    """Entities from FollowTheMoney JSON lines (one entity per line: id, schema, properties.name/alias/country)."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    rows, problems = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(Problem(row=n, field="line", rule=f"not valid JSON ({e.msg})"))
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("properties"), dict):
            problems.append(Problem(row=n, field="properties", rule="a FollowTheMoney entity needs properties"))
            continue
        if obj.get("schema") not in FTM_SCHEMATA:
            continue  # addresses, sanctions and other non-party entities are not screened
        props = obj["properties"]
        names = [str(v) for v in props.get("name", []) if str(v).strip()]
        if not obj.get("id") or not names:
            problems.append(Problem(row=n, field="id" if not obj.get("id") else "properties.name",
                                    rule="is required"))
            continue
        aliases = names[1:] + [str(v) for k in ("alias", "weakAlias", "previousName") for v in props.get(k, [])]
        rows.append({"entity_key": str(obj["id"]), "name": names[0], "aliases": "|".join(aliases),
                     "country": ";".join(props.get("country", []) or props.get("jurisdiction", []))[:60],
                     "kind": obj["schema"]})
    if problems:
        raise InputError(problems)
    return _checked(pd.DataFrame(rows, columns=list(LIST_COLUMNS)))


def _checked(df: pd.DataFrame) -> pd.DataFrame:
    problems = [Problem(row=int(i) + 1, field="name", rule="is required") for i in np.flatnonzero(
        df.name.str.strip().eq("").to_numpy())]
    dup = df.entity_key.duplicated(keep="first")
    problems += [Problem(row=int(i) + 1, field="entity_key", rule="appears twice in the file",
                         value=df.entity_key.iat[i]) for i in np.flatnonzero(dup.to_numpy())]
    problems += [Problem(row=int(i) + 1, field="entity_key", rule="is required") for i in np.flatnonzero(
        df.entity_key.str.strip().eq("").to_numpy())]
    if problems:
        raise InputError(problems)
    out = df.copy()
    out["country"] = out.country.str.split(";").str[0].fillna("")
    out["content_hash"] = [hashlib.sha256("\x1f".join(r).encode()).hexdigest()
                           for r in out[list(LIST_COLUMNS)].itertuples(index=False, name=None)]
    return out


def load_list(*, session: Session, name: str, entities: pd.DataFrame, source_name: str, licence: str = "",
              data_status: str = "synthetic") -> dict[str, int]:
    """Apply a list file as a new version: add new entities, close removed ones, close and re-add changed ones;
    unchanged entities are untouched. Re-loading the same file adds an empty version."""
    lst = session.scalar(select(models.ScreeningList).where(models.ScreeningList.name == name).with_for_update())
    if lst is None:
        lst = models.ScreeningList(name=name, licence=licence, data_status=data_status, current_version=0)
        session.add(lst)
        session.flush()
    version = lst.current_version + 1
    e = models.ScreeningEntry
    current = pd.DataFrame(session.execute(select(e.id, e.entity_key, e.content_hash).where(
        e.list_id == lst.id, e.version_to.is_(None))).all(), columns=["id", "entity_key", "content_hash"])
    both = current.merge(entities, on="entity_key", how="outer", suffixes=("_old", ""), indicator=True)
    removed = both[both._merge == "left_only"]
    changed = both[(both._merge == "both") & (both.content_hash_old != both.content_hash)]
    added = both[both._merge == "right_only"]
    close = pd.concat([removed.id, changed.id]).astype(int).tolist()
    if close:
        session.execute(e.__table__.update().where(e.id.in_(close)).values(version_to=version - 1))
    new = pd.concat([added, changed])
    insert_rows(session, e.__table__, [
        {"list_id": lst.id, "entity_key": r.entity_key, "name": r.name, "aliases": r.aliases, "country": r.country,
         "kind": r.kind, "content_hash": r.content_hash, "version_from": version, "version_to": None}
        for r in new.itertuples(index=False)])
    lst.current_version = version
    counts = {"version": version, "added": len(added), "changed": len(changed), "removed": len(removed),
              "unchanged": int((both._merge == "both").sum()) - len(changed)}
    session.add(models.ScreeningListVersion(list_id=lst.id, version=version, source_name=source_name,
                                            added=counts["added"], changed=counts["changed"],
                                            removed=counts["removed"], unchanged=counts["unchanged"]))
    session.flush()
    return counts


def list_entries(*, session: Session, name: str, version: int | None = None) -> pd.DataFrame:
    """A list's entities as of a version (default the current one)."""
    lst = session.scalar(select(models.ScreeningList).where(models.ScreeningList.name == name))
    if lst is None:
        raise NotFound("screening list", name)
    v = version or lst.current_version
    e = models.ScreeningEntry
    rows = session.execute(select(e.entity_key, e.name, e.aliases, e.country, e.kind).where(
        e.list_id == lst.id, e.version_from <= v, (e.version_to.is_(None)) | (e.version_to >= v))
        .order_by(e.entity_key)).all()
    return pd.DataFrame(rows, columns=list(LIST_COLUMNS))


def lists(*, session: Session) -> list[dict[str, Any]]:
    """The screening lists with their versions."""
    out = []
    for lst in session.scalars(select(models.ScreeningList).order_by(models.ScreeningList.name)):
        versions = session.scalars(select(models.ScreeningListVersion).where(
            models.ScreeningListVersion.list_id == lst.id).order_by(models.ScreeningListVersion.version)).all()
        out.append({"name": lst.name, "licence": lst.licence, "data_status": lst.data_status,
                    "current_version": lst.current_version, "versions": versions})
    return out


_INDEXES: dict[tuple[str, str, int], Index] = {}


def index_for(*, session: Session, name: str) -> Index:
    """The index of a list's current version, built once per process and version (the last four are kept)."""
    lst = session.scalar(select(models.ScreeningList).where(models.ScreeningList.name == name))
    if lst is None:
        raise NotFound("screening list", name)
    key = (session.get_bind().url.render_as_string(), name, lst.current_version)
    if key not in _INDEXES:
        while len(_INDEXES) >= 4:
            _INDEXES.pop(next(iter(_INDEXES)))
        _INDEXES[key] = build_index(list_entries(session=session, name=name))
    return _INDEXES[key]


def screen_parties(*, session: Session, parties: Sequence[tuple[str, str]], list_name: str | None = None,
                   thresholds: Thresholds | None = None) -> dict[str, Any]:
    """Screen (name, country) pairs against one list or every list: hits, and the outcome band per party."""
    names = [n for n, _ in parties]
    countries = [c for _, c in parties]
    chosen = [list_name] if list_name else [r["name"] for r in lists(session=session)]
    frames = []
    for name in chosen:
        hits = screen(index_for(session=session, name=name), names, countries, thresholds)
        frames.append(hits.assign(list=name))
    hits = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*HIT_COLUMNS, "list"])
    hits = hits.sort_values(["query", "score"], ascending=[True, False]).reset_index(drop=True)
    return {"lists": chosen, "outcome": outcome(hits, len(names)), "hits": hits}
