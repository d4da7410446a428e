"""End-user and consignee screening against denied-party lists.

Names are normalised (transliterated to ASCII, so Chinese characters become pinyin; lower case; punctuation and
legal forms removed) into two keys: the tokens in order and the tokens sorted, both without spaces. Candidates are
found by blocking on shared character grams (one sparse matrix product per chunk of queries), then scored with
RapidFuzz's Indel ratio on both keys; a country that agrees adds to the score and one that differs takes from it.
Every hit says which listed name or alias matched, the name score, the country adjustment and the band.

Lists load from CSV or FollowTheMoney JSON lines; a new file is applied as a delta (added, changed, removed
entities), and every version's entries stay queryable."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterable, Sequence
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
    grams: sp.csr_matrix = field(repr=False)
    prefix: sp.csr_matrix = field(repr=False)
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
    return Index(entries=entries.reset_index(drop=True), owner=owner, label=label, ordered=ordered_a,
                 sorted_=sorted_a, reorderable=ordered_a != sorted_a,
                 length=np.fromiter(map(len, ordered), dtype=np.int32, count=len(ordered)),
                 country=countries[owner], common=common, grams=grams, vocab=vocab,
                 prefix=_prefix(grams, np.asarray(grams.sum(axis=0)).ravel(), Thresholds.block_min_shared))


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


def _candidates(index: Index, keys: list[str], t: Thresholds, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Query rows and key rows that share one of their rarest grams, the pairs worth scoring."""
    width = index.grams.shape[1]
    q = _gram_matrix(keys, dict(index.vocab), grow=True)
    df = np.zeros(q.shape[1])
    df[:width] = np.asarray(index.grams.sum(axis=0)).ravel()
    q_prefix = _prefix(q, df, t.block_min_shared)[:, :width].tocsr()
    gt = index.prefix.T.tocsr()
    qs, ks = [], []
    for start in range(0, q.shape[0], chunk):
        shared = (q_prefix[start:start + chunk] @ gt).tocoo()
        qs.append(shared.row + start)
        ks.append(shared.col)
    if not qs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(qs), np.concatenate(ks)


HIT_COLUMNS = ["query", "name", "entity_key", "listed_name", "matched", "name_score", "country_adjustment", "score",
               "band", "explanation"]


def screen(index: Index, names: Sequence[str], countries: Sequence[str] | None = None,
           thresholds: Thresholds | None = None, *, chunk: int = 2000) -> pd.DataFrame:
    """Every hit at or above the review band, best first per query: which listed name or alias matched, the name
    score (best of token order kept or ignored), the country adjustment, the score and the band."""
    t = thresholds or Thresholds()
    q_ordered, q_sorted = normalise(names, index.common, fuzzy_common=True)
    qi, ki = _candidates(index, q_ordered, t, chunk)
    q_len = np.fromiter(map(len, q_ordered), dtype=np.int32, count=len(q_ordered))
    # Indel ratio >= c needs |len1 - len2| <= (1 - c)(len1 + len2): drop pairs that cannot reach the review band.
    c = max(0.0, (t.review - max(t.country_match, 0.0)) / 100.0)
    lq, lk = q_len[qi], index.length[ki]
    fit = np.abs(lq - lk) <= (1.0 - c) * (lq + lk)
    qi, ki = qi[fit], ki[fit]
    if len(qi) == 0:
        return pd.DataFrame(columns=HIT_COLUMNS)
    qo, qs = np.asarray(q_ordered, dtype=object), np.asarray(q_sorted, dtype=object)
    a = process.cpdist(qo[qi].tolist(), index.ordered[ki].tolist(), scorer=fuzz.ratio, workers=-1)
    # Word order matters only where either side has words to reorder.
    reorder = np.flatnonzero((qo != qs)[qi] | index.reorderable[ki])
    b = a.copy()
    if len(reorder):
        b[reorder] = process.cpdist(qs[qi[reorder]].tolist(), index.sorted_[ki[reorder]].tolist(),
                                    scorer=fuzz.ratio, workers=-1)
    name_score = np.maximum(a, b)
    q_country = np.asarray([_country_id(country_code(x) or "") for x in (countries or [""] * len(names))],
                           dtype=np.int32)
    kc, qc = index.country[ki], q_country[qi]
    both = (kc >= 0) & (qc >= 0)
    adjust = np.where(both & (kc == qc), t.country_match, np.where(both, t.country_mismatch, 0.0))
    score = np.minimum(100.0, name_score + adjust)
    keep = score >= t.review
    hits = pd.DataFrame({"query": qi[keep], "key": ki[keep], "name_score": name_score[keep].round(1),
                         "order_ignored": (b > a)[keep], "country_adjustment": adjust[keep], "score": score[keep]
                         .round(1)})
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
