"""Runbook search: embedding and BM25 rankings of section chunks fused by reciprocal rank fusion.

Scoring, as documented for callers:
- A Chinese query is extended with English words for the ops terms it contains (keywords.GLOSSARY), for
  both methods. Embeddings rank chunks by cosine similarity (chromadb), keywords by BM25 over jieba/word
  tokens, and a third ranking lists runbooks whose symptom phrase occurs verbatim in the query.
- Fused score of a chunk = Σ 1 / (RRF_K + rank) over the three rankings (top CANDIDATES of the first two),
  divided by its maximum 3 / (RRF_K + 1): 1.0 = first by embeddings, first by keywords and the longest
  symptom phrase matched. Scores compare hits of one query only; they are not probabilities.
- A runbook's score is its best chunk's. The `section` returned is the runbook's section whose own words
  (heading and body, without the folded-in title and symptoms) match the query best by BM25, or the best
  chunk's section when no section shares a word with the query (a paraphrase).
- Language preference: `lang` if given, else zh when the query contains Chinese characters, else en. It
  only breaks ties (equal scores, typically an en runbook and its zh twin): the preferred language comes
  first. It never filters, so an English-only runbook still answers a Chinese query.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from knowledge.documents import KnowledgeError, load_folder
from knowledge.index import KnowledgeIndex, StoredChunk
from knowledge.keywords import BM25, expand_query, has_cjk, tokenize
from knowledge.settings import KnowledgeSettings

log = logging.getLogger(__name__)
_NON_WORD = re.compile(r"\W+")

RRF_K = 60
CANDIDATES = 60
Method = Literal["fused", "embeddings", "keywords"]
METHODS: tuple[Method, ...] = ("embeddings", "keywords", "fused")


class SearchHit(BaseModel):
    """One runbook found for a query, with the section that matched best."""

    id: str = Field(description="Runbook id (file stem)")
    title: str
    lang: str = Field(description="en or zh")
    score: float = Field(description="Fused score in (0, 1], higher is better; comparable within one query only")
    heading: str = Field(description="Heading of the matching section ('' for text before the first ##)")
    section: str = Field(description="The matching section's Markdown")
    components: list[str] = Field(default_factory=list)


class SymptomMatcher:
    """Runbooks whose front-matter symptom phrase appears verbatim in a query (alert texts often quote them)."""

    def __init__(self, chunks: list[StoredChunk]) -> None:
        self._phrases: list[tuple[str, str]] = []
        seen: set[str] = set()
        for chunk in chunks:
            if chunk.runbook_id not in seen:
                seen.add(chunk.runbook_id)
                self._phrases.extend((p, chunk.runbook_id) for p in map(_normalise, chunk.symptoms) if len(p) > 5)

    def ranking(self, query: str) -> list[str]:
        """Ids of the runbooks with a symptom phrase in the query, the longest matching phrase first."""
        text = _normalise(query)
        longest: dict[str, int] = {}
        for phrase, runbook_id in self._phrases:
            # CJK has no spaces between words: match inside the text; elsewhere match whole words only.
            if (phrase.strip() if has_cjk(phrase) else phrase) in text:
                longest[runbook_id] = max(longest.get(runbook_id, 0), len(phrase))
        return sorted(longest, key=lambda rid: (-longest[rid], rid))


@dataclass(frozen=True)
class _Snapshot:
    """What a Searcher holds in memory for one generation of the index, swapped whole on reload."""

    generation: int
    chunks: list[StoredChunk]
    bm25: BM25
    sections: BM25
    symptoms: SymptomMatcher
    position: dict[str, int]
    by_runbook: dict[str, list[int]]

    @classmethod
    def load(cls, index: KnowledgeIndex) -> _Snapshot:
        """Read every chunk of the index and precompute the keyword structures."""
        generation = index.generation()
        chunks = index.chunks()
        by_runbook: dict[str, list[int]] = {}
        for pos, chunk in enumerate(chunks):
            by_runbook.setdefault(chunk.runbook_id, []).append(pos)
        return cls(
            generation=generation,
            chunks=chunks,
            bm25=BM25([c.tokens for c in chunks]),
            sections=BM25([c.section_tokens for c in chunks]),
            symptoms=SymptomMatcher(chunks),
            position={c.chunk_id: i for i, c in enumerate(chunks)},
            by_runbook=by_runbook,
        )


def _normalise(text: str) -> str:
    """Lowercase words separated by single spaces, padded with a space on each side."""
    return f" {' '.join(_NON_WORD.split(text.lower())).strip()} "


def check_query(query: str, k: int, lang: str | None) -> str:
    """Validate search input; returns the stripped query or raises KnowledgeError saying what to fix."""
    text = query.strip()
    if not text:
        msg = "the query is empty: give an alert summary, a finding or a question to look up runbooks for"
        raise KnowledgeError(msg)
    if k < 1:
        msg = f"k must be 1 or more (got {k})"
        raise KnowledgeError(msg)
    if lang not in (None, "en", "zh"):
        msg = f"lang must be 'en' or 'zh' (got {lang!r})"
        raise KnowledgeError(msg)
    return text


class Searcher:
    """Search over one index: keeps chunks and BM25 postings in memory, reloaded when an ingest wrote (any process)."""

    def __init__(self, index: KnowledgeIndex) -> None:
        self.index = index
        self._lock = threading.Lock()
        self._state = _Snapshot.load(index)

    def refresh(self) -> _Snapshot:
        """The in-memory state, reloaded first if the index changed since it was read."""
        with self._lock:
            if self.index.generation() != self._state.generation:
                self._state = _Snapshot.load(self.index)
            return self._state

    def rank(self, query: str, method: Method = "fused") -> list[tuple[int, float]]:
        """Chunk positions (in the current snapshot) with their score for one method, best first."""
        return self._rank(self.refresh(), query, method)

    def _rank(self, state: _Snapshot, query: str, method: Method) -> list[tuple[int, float]]:
        expanded, terms = _query_terms(query)
        keywords = state.bm25.top(terms, CANDIDATES)
        if method == "keywords":
            return keywords
        # An id unknown here was written by a concurrent ingest after refresh(): the next query picks it up.
        nearest = self.index.nearest(expanded, CANDIDATES)
        semantic = [(state.position[cid], 1.0 - dist) for cid, dist in nearest if cid in state.position]
        if method == "embeddings":
            return semantic
        fused: dict[int, float] = {}
        for ranking in ([pos for pos, _ in semantic], [pos for pos, _ in keywords]):
            for rank, pos in enumerate(ranking, start=1):
                fused[pos] = fused.get(pos, 0.0) + 1.0 / (RRF_K + rank)
        # Every chunk of a runbook shares the rank of its symptom match.
        for rank, rid in enumerate(state.symptoms.ranking(query), start=1):
            for pos in state.by_runbook[rid]:
                fused[pos] = fused.get(pos, 0.0) + 1.0 / (RRF_K + rank)
        best = 3.0 / (RRF_K + 1)
        return sorted(((pos, score / best) for pos, score in fused.items()), key=lambda kv: -kv[1])

    def search(self, query: str, k: int = 5, lang: str | None = None, method: Method = "fused") -> list[SearchHit]:
        """The k best runbooks for the query, each with its best-matching section."""
        text = check_query(query, k, lang)
        state = self.refresh()
        preferred = lang or ("zh" if has_cjk(text) else "en")
        best: dict[str, tuple[float, int]] = {}
        for pos, score in self._rank(state, text, method):
            best.setdefault(state.chunks[pos].runbook_id, (score, pos))
        ordered = sorted(best.values(), key=lambda sp: (-sp[0], state.chunks[sp[1]].lang != preferred, sp[1]))
        # The section shown is the one whose own words match the query best: every chunk also carries the
        # runbook's title and symptoms, which would otherwise favour the shortest section.
        own_words = state.sections.scores(_query_terms(text)[1])
        hits = []
        for score, top in ordered[:k]:
            siblings = state.by_runbook[state.chunks[top].runbook_id]
            chunk = state.chunks[max(siblings, key=lambda p: (own_words.get(p, 0.0), p == top))]
            hits.append(
                SearchHit(
                    id=chunk.runbook_id,
                    title=chunk.title,
                    lang=chunk.lang,
                    score=round(score, 4),
                    heading=chunk.heading,
                    section=chunk.section,
                    components=list(chunk.components),
                )
            )
        return hits


def _query_terms(query: str) -> tuple[str, list[str]]:
    """The query extended with English words for its Chinese ops terms, and its keyword tokens."""
    # The model is English-centred and many runbooks are en only: Chinese terms are searched in English too.
    english = expand_query(query)
    expanded = f"{query} {english}" if english else query
    return expanded, tokenize(expanded, query=True)


_searchers: dict[Path, Searcher] = {}
_open_lock = threading.Lock()


def open_searcher(settings: KnowledgeSettings | None = None) -> Searcher:
    """The process's Searcher for the configured index; an empty or missing index is built first, with a message."""
    cfg = settings or KnowledgeSettings()
    path = cfg.index_path.expanduser().resolve()
    with _open_lock:
        if path not in _searchers:
            index = KnowledgeIndex(path)
            if index.count() == 0:
                folders = ", ".join(str(d) for d in cfg.runbook_dirs)
                log.warning("knowledge index %s is empty or missing: building it from %s (once)", path, folders)
                for folder in cfg.runbook_dirs:  # all folders valid before any is written
                    load_folder(folder.expanduser())
                for folder in cfg.runbook_dirs:
                    index.ingest(folder)
            _searchers[path] = Searcher(index)
        return _searchers[path]


def search(
    query: str, k: int | None = None, lang: str | None = None, *, settings: KnowledgeSettings | None = None
) -> list[SearchHit]:
    """Search the configured runbook index (k defaults to settings.default_k); bad input is a KnowledgeError."""
    cfg = settings or KnowledgeSettings()
    size = cfg.default_k if k is None else k
    check_query(query, size, lang)  # before open_searcher: bad input must not trigger building an index
    return open_searcher(cfg).search(query, size, lang)


def warm_up(settings: KnowledgeSettings | None = None) -> None:
    """Load the model, the index (built if missing) and jieba now, so the first real query is fast (≈ 8 s cold)."""
    searcher = open_searcher(settings)
    if searcher.refresh().chunks:
        searcher.search("磁盘 disk", 1)
