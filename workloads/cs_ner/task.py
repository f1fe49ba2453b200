"""Procedurally generated CS titles and abstract sentences with BIO tags for 7 entity types.

Entity lexicons mix a few real names (``BERT``, ``ImageNet``) with synthetic ones whose shape
hints at the type, as real names do (``Vorax-Net-12`` a method, ``KelBench`` a dataset,
``pyTamo`` a tool). Each type's lexicon is split once into names that may appear in training
and names held out from it; a test mention is drawn from the held-out names with probability
``unseen_frac``. About half the template slots are typed by their context ("on {dataset}"),
the others admit several types ("we use {tool|dataset|method|resource}"), as real text does:
there only the name itself says its type.

Everything is drawn from one ``numpy`` generator, so a seed fixes lexicons, templates and data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TYPES = ("problem", "solution", "resource", "language", "tool", "method", "dataset")
TAGS = ("O",) + tuple(f"{p}-{t}" for t in TYPES for p in ("B", "I"))
TAG_ID = {tag: i for i, tag in enumerate(TAGS)}

REAL = {
    "problem": ["machine translation", "question answering", "image classification", "named entity recognition",
                "speech recognition", "text summarization", "sentiment analysis", "object detection", "link prediction",
                "relation extraction", "entity linking", "dependency parsing"],
    "solution": ["our framework", "the proposed system", "our pipeline", "the proposed model"],
    "resource": ["Wikipedia", "DBpedia", "Freebase", "WordNet", "Wikidata", "ConceptNet", "YAGO"],
    "language": ["Python", "Java", "SPARQL", "OWL", "RDF", "Prolog", "JavaScript", "SQL"],
    "tool": ["TensorFlow", "PyTorch", "Weka", "spaCy", "Protege", "Keras", "scikit-learn", "NLTK"],
    "method": ["BERT", "LSTM", "CRF", "SVM", "random forest", "word2vec", "GloVe", "Transformer"],
    "dataset": ["ImageNet", "SQuAD", "CoNLL-2003", "MNIST", "CIFAR-10", "GLUE", "OntoNotes", "MS-COCO"],
}
_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "tr", "st", "kl"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]
_ADJ = ["sparse", "dense", "robust", "neural", "multilingual", "temporal", "semantic", "visual", "scalable",
        "cross-lingual", "few-shot", "noisy", "open-domain", "hierarchical", "federated", "streaming"]
_NOUN = ["graph", "document", "table", "code", "image", "video", "query", "event", "citation", "scholarly",
         "knowledge", "dialogue", "protein", "sensor", "patent", "tweet"]
_TASK = ["classification", "segmentation", "detection", "recognition", "retrieval", "generation", "parsing",
         "summarization", "alignment", "completion", "matching", "extraction"]

# {type} is a slot of that type; {a|b|c} is a slot whose type is drawn from a, b or c.
TEMPLATES = [
    "A {method} approach for {problem} on {dataset} using {tool}",
    "{solution} : {method} for {problem}",
    "We evaluate {solution} on {dataset} and {dataset}",
    "Implemented in {language} with {tool}",
    "We use {tool|dataset|method|resource} in our experiments",
    "Experiments with {tool|dataset|method|resource} show consistent gains",
    "Comparing {method|tool} and {method|tool} for {problem}",
    "Towards {problem} with {method}",
    "{problem} from {resource} with {method}",
    "Linking {resource} entities with {language} queries",
    "We query {resource} with {language}",
    "Our code uses {tool} and {language}",
    "Results on {dataset} improve over {method}",
    "{solution} outperforms {method} on {dataset}",
    "We release {dataset|resource|tool} for {problem}",
    "A survey of {problem}",
    "Learning {problem} with {method} and {resource}",
    "Scaling {method} to {dataset}",
    "Based on {tool|method|resource} , {solution} handles {problem}",
    "We build on {tool|method|resource|dataset}",
    "{method} features extracted from {resource}",
    "Evaluating {problem} systems on {dataset}",
    "A {language} library for {problem}",
    "Benchmarking {tool} against {tool}",
    "{solution} combines {method} with {method}",
    "Revisiting {method|dataset} for {problem}",
    "An empirical study of {method|tool|dataset}",
    "Annotating {dataset} for {problem}",
    "Ontology design in {language} for {resource}",
    "Fast {problem} in {language}",
    "We train {method} on {dataset} with {tool}",
    "Transfer from {dataset|resource} to {dataset|resource}",
    "{problem} and {problem} with one model",
    "We present {solution} for {problem}",
    "Knowledge from {resource} helps {problem}",
    "Querying {resource|dataset} with {language|tool}",
    "Lessons from {problem} on {dataset}",
    "Porting {tool|method} to {language}",
    "Data from {resource|dataset} were cleaned with {tool|language}",
    "The role of {method|resource} in {problem}",
]


def _syllables(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(n))


def synthetic_name(rng: np.random.Generator, kind: str) -> str:
    """One synthetic surface form of entity type ``kind``; its shape hints at the type."""
    stem = _syllables(rng, int(rng.integers(1, 3)))
    cap = stem.capitalize()
    num = str(int(rng.integers(1, 100)))
    if kind == "problem":
        return f"{rng.choice(_ADJ)} {rng.choice(_NOUN)} {rng.choice(_TASK)}"
    if kind == "solution":
        return rng.choice([f"{cap}{_syllables(rng, 1).capitalize()}", f"{cap} framework", f"the {cap} system"])
    if kind == "resource":
        return rng.choice([f"{cap}pedia", f"{cap}Base", f"{cap} Graph", f"{cap}KB"])
    if kind == "language":
        return rng.choice([f"{cap}Script", f"{stem[:3].upper()}QL", f"{cap}ML", f"{cap}lang"])
    if kind == "tool":
        return rng.choice([f"{cap}Kit", f"py{cap}", f"{cap}Lab", f"{cap} Toolkit"])
    if kind == "method":
        return rng.choice([f"{cap}Net-{num}", f"{stem[:3].upper()}-BERT", f"{cap}Former", f"{cap} attention"])
    if kind == "dataset":
        return rng.choice([f"{stem.upper()}-{num}", f"{cap}Bench", f"{cap}QA", f"{cap}-Corpus"])
    raise ValueError(f"unknown entity type {kind!r}")


@dataclass(frozen=True)
class Lexicon:
    """Per type: surface forms that training may use (``seen``) and ones it never shows (``unseen``)."""

    seen: dict[str, list[str]]
    unseen: dict[str, list[str]]


def make_lexicon(rng: np.random.Generator, per_type: int = 80, held_out: float = 0.3) -> Lexicon:
    """``per_type`` distinct names per type (the real ones first), ``held_out`` of them set aside."""
    seen, unseen = {}, {}
    for kind in TYPES:
        names = list(dict.fromkeys(REAL[kind]))
        while len(names) < per_type:
            name = synthetic_name(rng, kind)
            if name not in names:
                names.append(name)
        order = rng.permutation(len(names))
        cut = int(round(held_out * len(names)))
        unseen[kind] = [names[i] for i in order[:cut]]
        seen[kind] = [names[i] for i in order[cut:]]
    return Lexicon(seen, unseen)


@dataclass(frozen=True)
class Sentence:
    """Whitespace tokens, their BIO tags, and whether each entity mention (in order) was held out."""

    words: list[str]
    tags: list[str]
    unseen: list[bool]


def sample_sentence(rng: np.random.Generator, lex: Lexicon, templates: list[str], unseen_frac: float) -> Sentence:
    """Fill a random template; each slot's name comes from the held-out names w.p. ``unseen_frac``."""
    words: list[str] = []
    tags: list[str] = []
    unseen: list[bool] = []
    for piece in templates[int(rng.integers(len(templates)))].split():
        if not (piece.startswith("{") and piece.endswith("}")):
            words.append(piece)
            tags.append("O")
            continue
        options = piece[1:-1].split("|")
        kind = options[int(rng.integers(len(options)))]
        held = bool(rng.random() < unseen_frac)
        pool = (lex.unseen if held else lex.seen)[kind]
        name = pool[int(rng.integers(len(pool)))].split()
        words.extend(name)
        tags.extend([f"B-{kind}"] + [f"I-{kind}"] * (len(name) - 1))
        unseen.append(held)
    return Sentence(words, tags, unseen)


def sample_corpus(rng: np.random.Generator, lex: Lexicon, templates: list[str], n: int, unseen_frac: float) -> list[Sentence]:
    """``n`` sentences from ``sample_sentence``."""
    return [sample_sentence(rng, lex, templates, unseen_frac) for _ in range(n)]


def invalid_transitions(tags: list[list[str]]) -> int:
    """BIO violations: an ``I-X`` whose previous tag (or sentence start) is neither ``B-X`` nor ``I-X``."""
    bad = 0
    for seq in tags:
        prev = "O"
        for tag in seq:
            if tag.startswith("I-") and prev[2:] != tag[2:]:
                bad += 1
            prev = tag
    return bad
