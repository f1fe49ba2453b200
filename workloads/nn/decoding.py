"""Search over a language model's next-token distribution: the decoders the workloads share.

Every decoder here is a free function over a *step function*::

    step(tokens: (N,) long, state) -> (log_probs: (N, V), new_state)

where ``state`` is a tuple (nested tuples, lists and dicts allowed) of batch-first tensors or
None; search only ever indexes its batch dimension, so any model fits (an LSTM decoder, a
pointer network, a transformer that keeps its prefix in the state). Speculative decoding needs
the whole-prefix view instead, a *score function* ``score(tokens: (1, T)) -> (1, T, V)`` whose
row t is the distribution of token t + 1 (one causal forward pass).

- :func:`greedy_decode`: the most likely token at every step.
- :func:`beam_search`: left-to-right beam search (Sutskever et al., 2014), with two options:
  ``allowed`` for constrained decoding (tokens outside a mask are never chosen) and ``bonus``
  for conditional beam search (Yoshida: rank by log p(y | x) + log P(A | y), an attribute's
  score, so that e.g. empty outputs stop winning).
- :func:`diverse_beam_search`: Diverse Beam Search (Vijayakumar et al., 2018), G groups with
  Hamming diversity between them.
- :func:`speculative_greedy`: draft-and-verify decoding (Leviathan et al., 2023; Medusa,
  Chimera) whose output is the target's own greedy output, token for token.
- :func:`sequence_log_prob`: the model's log-probability of given continuations.

``tests/workloads/nn/test_decoding.py`` checks each one against brute-force enumeration of every
sequence over a tiny vocabulary.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

State = Any
StepFn = Callable[[torch.Tensor, State], tuple[torch.Tensor, State]]
ScoreFn = Callable[[torch.Tensor], torch.Tensor]


def map_state(fn: Callable[[torch.Tensor], torch.Tensor], state: State) -> State:
    """Apply ``fn`` to every tensor in a (nested tuple / list / dict) state; None stays None."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return fn(state)
    if isinstance(state, (tuple, list)):
        return type(state)(map_state(fn, s) for s in state)
    if isinstance(state, dict):
        return {k: map_state(fn, v) for k, v in state.items()}
    raise TypeError(f"unsupported state element {type(state).__name__}")



@torch.no_grad()
def greedy_decode(
    step: StepFn, state: State, start: torch.Tensor, max_len: int, *, eos: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick the most likely token at every step.

    Args:
        step: the model's step function.
        state: its initial state (batch-first tensors).
        start: ``(B,)`` first input tokens (BOS).
        max_len: steps to run.
        eos: once emitted, a row keeps emitting ``eos`` at log-probability 0.

    Returns:
        tokens ``(B, max_len)`` and the summed log-probability ``(B,)`` of each row.
    """
    tokens, total = [], torch.zeros(start.shape[0], device=start.device)
    prev, done = start, torch.zeros_like(start, dtype=torch.bool)
    for _ in range(max_len):
        logp, state = step(prev, state)  # (B, V)
        best_logp, prev = logp.max(dim=-1)
        if eos is not None:
            prev = torch.where(done, torch.full_like(prev, eos), prev)
            best_logp = torch.where(done, torch.zeros_like(best_logp), best_logp)
            done = done | (prev == eos)
        total = total + best_logp
        tokens.append(prev)
    return torch.stack(tokens, dim=1), total


@torch.no_grad()
def beam_search(
    step: StepFn,
    state: State,
    start: torch.Tensor,
    max_len: int,
    beam: int,
    *,
    eos: int | None = None,
    allowed: Callable[[torch.Tensor], torch.Tensor] | None = None,
    bonus: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-to-right beam search on summed log-probability (Sutskever et al., Sec. 3.1).

    Finished hypotheses (those that emitted ``eos``) keep their score and are extended with
    ``eos`` at log-probability 0, so they compete with unfinished ones on equal terms.

    Args:
        step, state, start, max_len, eos: as :func:`greedy_decode`.
        beam: hypotheses kept per row, K. ``beam = 1`` is greedy decoding.
        allowed: constrained decoding: ``allowed(history: (N, t) long) -> (N, V) bool``, the
            tokens that may follow each unfinished hypothesis; the others are never chosen.
        bonus: conditional beam search: ``bonus(prefixes: (M, t + 1) long) -> (M,)``, a log-score
            (log P(A | prefix) of an attribute A) added to each candidate's log-probability when
            ranking; finished hypotheses arrive padded with ``eos``.

    Returns:
        tokens ``(B, K, max_len)`` and the model's log-probabilities ``(B, K)`` (without the
        bonus), best-ranked hypothesis first.
    """
    B, K = start.shape[0], beam
    device = start.device
    state = map_state(lambda t: t.repeat_interleave(K, dim=0), state)  # (B, ...) -> (B*K, ...)
    prev = start.repeat_interleave(K)  # (B*K,)
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0  # K identical copies at the start: keep one, or the beam fills with duplicates
    history = torch.zeros(B, K, 0, dtype=torch.long, device=device)
    done = torch.zeros(B * K, dtype=torch.bool, device=device)
    for _ in range(max_len):
        logp, state = step(prev, state)  # (B*K, V)
        V = logp.shape[-1]
        if allowed is not None:
            logp = logp.masked_fill(~allowed(history.view(B * K, -1)), float("-inf"))
        logp = _freeze_finished(logp, done, eos)
        total = (scores.unsqueeze(-1) + logp.view(B, K, V)).view(B, K * V)  # (B, K, V) -> (B, K*V)
        rank = total
        if bonus is not None:
            candidates = torch.cat([history.unsqueeze(2).expand(B, K, V, history.shape[-1]),
                                    torch.arange(V, device=device).view(1, 1, V, 1).expand(B, K, V, 1)], dim=-1)
            rank = total + bonus(candidates.reshape(B * K * V, -1)).view(B, K * V)  # (B*K*V, t+1) prefixes
        flat = rank.topk(K, dim=-1).indices  # (B, K)
        scores = total.gather(1, flat)
        parent, token = flat // V, flat % V  # (B, K) each
        state, history, prev, done = _advance(state, history, done, parent, token, eos)
    return history, scores


@torch.no_grad()
def diverse_beam_search(
    step: StepFn,
    state: State,
    start: torch.Tensor,
    max_len: int,
    beam: int,
    groups: int,
    *,
    strength: float = 0.5,
    eos: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Diverse Beam Search with Hamming diversity (Vijayakumar et al., 2018, Alg. 1).

    The K hypotheses form G groups of K / G. At each step the groups are expanded in order; group
    g ranks its candidates by log-probability minus ``strength`` (λ) times the number of times
    the candidate's token was chosen at this step by groups before it. Finished hypotheses are
    neither penalised nor counted. ``groups = 1`` is :func:`beam_search`.

    Returns:
        tokens ``(B, K, max_len)`` and log-probabilities ``(B, K)``, group by group (each group
        best first).
    """
    if beam % groups:
        raise ValueError(f"beam {beam} must be a multiple of groups {groups}")
    B, K, G, S = start.shape[0], beam, groups, beam // groups
    device = start.device
    state = map_state(lambda t: t.repeat_interleave(K, dim=0), state)  # (B, ...) -> (B*K, ...)
    prev = start.repeat_interleave(K)  # (B*K,)
    scores = torch.full((B, G, S), float("-inf"), device=device)
    scores[:, :, 0] = 0.0  # one live hypothesis per group at the start
    history = torch.zeros(B, K, 0, dtype=torch.long, device=device)
    done = torch.zeros(B * K, dtype=torch.bool, device=device)
    for _ in range(max_len):
        logp, state = step(prev, state)  # (B*K, V)
        V = logp.shape[-1]
        logp = _freeze_finished(logp, done, eos).view(B, G, S, V)  # (B*K, V) -> (B, G, S, V)
        live = ~done.view(B, G, S)
        counts = torch.zeros(B, V, device=device)  # tokens chosen at this step by the groups so far
        parents, tokens, new_scores = [], [], []
        for g in range(G):
            total = scores[:, g].unsqueeze(-1) + logp[:, g]  # (B, S, V)
            penalty = strength * counts.unsqueeze(1) * live[:, g].unsqueeze(-1)  # (B, S, V)
            flat = (total - penalty).view(B, S * V).topk(S, dim=-1).indices  # (B, S)
            new_scores.append(total.view(B, S * V).gather(1, flat))
            parent, token = flat // V, flat % V
            chosen_live = live[:, g].gather(1, parent).float()  # (B, S): only live hypotheses count
            counts.scatter_add_(1, token, chosen_live)
            parents.append(parent + g * S)
            tokens.append(token)
        scores = torch.stack(new_scores, dim=1)  # (B, G, S)
        state, history, prev, done = _advance(state, history, done, torch.cat(parents, 1), torch.cat(tokens, 1), eos)
    return history, scores.view(B, K)


def _freeze_finished(logp: torch.Tensor, done: torch.Tensor, eos: int | None) -> torch.Tensor:
    """A finished row may only repeat ``eos``, at log-probability 0."""
    if eos is None:
        return logp
    frozen = torch.full_like(logp, float("-inf"))
    frozen[:, eos] = 0.0
    return torch.where(done.unsqueeze(-1), frozen, logp)


def _advance(state: State, history: torch.Tensor, done: torch.Tensor, parent: torch.Tensor, token: torch.Tensor,
             eos: int | None) -> tuple[State, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reorder the beam to the chosen ``parent`` (B, K) hypotheses and append their ``token`` (B, K)."""
    B, K = parent.shape
    rows = (parent + torch.arange(B, device=parent.device).unsqueeze(1) * K).view(-1)  # (B*K,)
    state = map_state(lambda t: t.index_select(0, rows), state)
    history = torch.cat([history.gather(1, parent.unsqueeze(-1).expand_as(history)), token.unsqueeze(-1)], dim=-1)
    prev = token.view(-1)  # (B, K) -> (B*K,)
    done = done.index_select(0, rows) | (prev == eos) if eos is not None else done
    return state, history, prev, done


@torch.no_grad()
def speculative_greedy(
    score: ScoreFn,
    draft: Callable[[torch.Tensor, int], torch.Tensor],
    prompt: torch.Tensor,
    max_new: int,
    k: int,
    *,
    eos: int | None = None,
) -> tuple[torch.Tensor, int]:
    """Greedy decoding of ``score``'s model, sped up by a draft that proposes ``k`` tokens at once.

    Each round the draft proposes ``k`` tokens after the sequence so far; the target scores the
    sequence and all proposals in one pass, keeps the longest run of proposals that equal its own
    greedy choices, and adds its own next token after them. The output is exactly the target's
    greedy output; a round yields between 1 and k + 1 tokens.

    Args:
        score: ``score(tokens: (1, T)) -> (1, T, V)`` log-probabilities (row t: token t + 1).
        draft: ``draft(tokens: (T,), k) -> (k,)`` proposed next tokens.
        prompt: ``(T0,)`` tokens to continue (at least one).
        max_new: tokens to generate (fewer if ``eos`` comes first; ``eos`` is kept).

    Returns:
        the new tokens ``(n,)`` and the number of target passes; tokens per pass is τ.
    """
    seq, out, passes = prompt, [], 0
    while len(out) < max_new and not (eos is not None and out and out[-1] == eos):
        proposal = draft(seq, k)[:k].to(seq.dtype)  # (k,)
        logp = score(torch.cat([seq, proposal]).unsqueeze(0))[0]  # (T + k, V)
        passes += 1
        target = logp[seq.shape[0] - 1 :].argmax(dim=-1)  # (k + 1,): the target's choice after each prefix
        n = 0
        while n < proposal.shape[0] and proposal[n] == target[n]:
            n += 1
        new = target[: n + 1].tolist()  # the accepted proposals equal the target's choices, plus one
        if eos is not None and eos in new:
            new = new[: new.index(eos) + 1]
        new = new[: max_new - len(out)]
        out.extend(new)
        seq = torch.cat([seq, torch.tensor(new, dtype=seq.dtype, device=seq.device)])
    return torch.tensor(out, dtype=prompt.dtype), passes


def sequence_log_prob(step: StepFn, state: State, start: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Summed log-probability ``(B,)`` of the given continuations ``tokens`` ``(B, T)``.

    Used to check search (beam ≥ greedy in model score) and to score references.
    """
    total, prev = torch.zeros(tokens.shape[0], device=tokens.device), start
    for t in range(tokens.shape[1]):
        logp, state = step(prev, state)
        prev = tokens[:, t]
        total = total + logp.gather(1, prev.unsqueeze(1)).squeeze(1)
    return total
