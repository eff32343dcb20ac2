"""Linear-chain CRF over BIO tags with the invalid transitions masked out.

Tags are ``["O", "B-T1", "I-T1", "B-T2", …]``. A tag ``I-T`` may only follow ``B-T`` or ``I-T``
and may not start a sequence; those transitions get a score of ``-10⁴`` so neither training nor
decoding ever produces an ill-formed BIO sequence (Lample et al. 2016, "Neural Architectures for
Named Entity Recognition", https://aclanthology.org/N16-1030).

Formula: ``score(y) = start[y₁] + Σₖ emit[k, yₖ] + Σₖ trans[yₖ₋₁, yₖ] + end[y_L]``;
``NLL = logsumexp_y' score(y') − score(y)``; marginals by forward–backward.

Shapes:
    ``emissions [B, L, T]``, ``tags [B, L]`` (long), ``mask [B, L]`` (bool, left-aligned).

Example:
    >>> import torch
    >>> crf = CRF(bio_tags(["Loc", "Peop"]))
    >>> crf.tags
    ['O', 'B-Loc', 'I-Loc', 'B-Peop', 'I-Peop']
    >>> em = torch.zeros(1, 3, 5); em[0, 0, 3] = em[0, 1, 4] = em[0, 2, 0] = 5.0
    >>> crf.decode(em, torch.ones(1, 3, dtype=torch.bool))
    [[3, 4, 0]]
    >>> bio_spans(crf.tags, [3, 4, 0])
    [(0, 2, 'Peop')]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["CRF", "bio_encode", "bio_spans", "bio_tags"]

_NEG = -1e4


def bio_tags(labels: Sequence[str]) -> list[str]:
    """``["O", "B-l1", "I-l1", …]`` for the entity labels ``labels`` (order kept)."""
    return ["O"] + [f"{p}-{lab}" for lab in labels for p in "BI"]


def bio_encode(tags: Sequence[str], n: int, spans: Sequence[tuple[int, int, str]]) -> list[int]:
    """Tag ids of ``n`` tokens with entity ``spans`` (``(start, end, label)``, end exclusive).

    Example:
        >>> bio_encode(bio_tags(["Loc"]), 4, [(1, 3, "Loc")])
        [0, 1, 2, 0]
    """
    index = {t: i for i, t in enumerate(tags)}
    y = [0] * n
    for s, e, lab in spans:
        if f"B-{lab}" not in index:
            continue
        y[s] = index[f"B-{lab}"]
        for k in range(s + 1, e):
            y[k] = index[f"I-{lab}"]
    return y


def bio_spans(tags: Sequence[str], ids: Sequence[int]) -> list[tuple[int, int, str]]:
    """Entity spans ``(start, end, label)`` of a tag-id sequence (a stray ``I-`` starts one)."""
    out: list[tuple[int, int, str]] = []
    cur: list = []
    for k, t in enumerate([*ids, 0]):
        tag = tags[t]
        if cur and not (tag.startswith("I-") and tag[2:] == cur[1]):
            out.append((cur[0], k, cur[1]))
            cur = []
        if tag.startswith("B-") or (tag.startswith("I-") and not cur):
            cur = [k, tag[2:]]
    return out


class CRF(nn.Module):
    """BIO linear-chain CRF with learned start/end/transition scores and masked invalid moves."""

    def __init__(self, tags: Sequence[str]) -> None:
        super().__init__()
        self.tags = list(tags)
        n = len(self.tags)
        self.trans = nn.Parameter(torch.zeros(n, n))
        self.start = nn.Parameter(torch.zeros(n))
        self.end = nn.Parameter(torch.zeros(n))
        bad = torch.zeros(n, n)
        for i, a in enumerate(self.tags):
            for j, b in enumerate(self.tags):
                if b.startswith("I-") and not (a != "O" and a[2:] == b[2:]):
                    bad[i, j] = _NEG
        self.register_buffer("trans_mask", bad, persistent=False)
        self.register_buffer(
            "start_mask",
            torch.tensor([_NEG if t.startswith("I-") else 0.0 for t in self.tags]),
            persistent=False,
        )

    def _trans(self) -> torch.Tensor:
        return self.trans + self.trans_mask

    def _forward_alpha(self, em: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        tr = self._trans()
        alpha = self.start + self.start_mask + em[:, 0]
        alphas = [alpha]
        for k in range(1, em.shape[1]):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + tr.unsqueeze(0), dim=1) + em[:, k]
            alpha = torch.where(mask[:, k : k + 1], nxt, alpha)
            alphas.append(alpha)
        return alphas

    def nll(self, em: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Summed negative log-likelihood of the gold ``tags`` over the batch."""
        tr = self._trans()
        bidx = torch.arange(em.shape[0])
        score = self.start[tags[:, 0]] + self.start_mask[tags[:, 0]] + em[bidx, 0, tags[:, 0]]
        for k in range(1, em.shape[1]):
            step = tr[tags[:, k - 1], tags[:, k]] + em[bidx, k, tags[:, k]]
            score = score + step * mask[:, k]
        last = tags[bidx, mask.sum(1) - 1]
        score = score + self.end[last]
        log_z = torch.logsumexp(self._forward_alpha(em, mask)[-1] + self.end, dim=1)
        return (log_z - score).sum()

    @torch.no_grad()
    def decode(self, em: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """Viterbi: the best tag-id sequence of every row (length = its mask sum)."""
        tr = self._trans()
        score = self.start + self.start_mask + em[:, 0]
        back = []
        for k in range(1, em.shape[1]):
            best, idx = (score.unsqueeze(2) + tr.unsqueeze(0)).max(dim=1)
            nxt = best + em[:, k]
            m = mask[:, k : k + 1]
            score = torch.where(m, nxt, score)
            back.append(torch.where(m, idx, torch.arange(tr.shape[0]).expand_as(idx)))
        score = score + self.end
        out = []
        lengths = mask.sum(1).tolist()
        for b in range(em.shape[0]):
            t = int(score[b].argmax())
            path = [t]
            for k in range(int(lengths[b]) - 2, -1, -1):
                t = int(back[k][b, t])
                path.append(t)
            out.append(path[::-1])
        return out

    @torch.no_grad()
    def marginals(self, em: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Posterior tag probabilities ``[B, L, T]`` (forward–backward; padding rows are junk)."""
        tr = self._trans()
        alphas = self._forward_alpha(em, mask)
        L = em.shape[1]
        beta = self.end.expand(em.shape[0], -1)
        betas = [beta] * L
        for k in range(L - 2, -1, -1):
            nxt = torch.logsumexp(tr.unsqueeze(0) + (em[:, k + 1] + beta).unsqueeze(1), dim=2)
            beta = torch.where(mask[:, k + 1 : k + 2], nxt, beta)
            betas[k] = beta
        log_z = torch.logsumexp(alphas[-1] + self.end, dim=1)
        post = torch.stack([a + b for a, b in zip(alphas, betas)], dim=1) - log_z[:, None, None]
        return post.exp()
