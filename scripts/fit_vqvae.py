"""Fit the LLM-AR action VQ-VAE (skellm.vqvae) on the pipeline's split and report how it tokenizes.

Reads data/split/{train,test}.parquet of the last `dvc repro`, trains on train for ``--steps``, then on
the test takes reports the reconstruction error (standardised units, masked), codebook usage (share of
codes used), perplexity of the code histogram, distinct action sentences, and how often two takes of one
class share a token against two takes of different classes. Writes the figures as JSON.

Usage: python scripts/fit_vqvae.py --steps 400 --geometry hyperbolic euclidean
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def token_overlap(codes: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean share of token types two takes have in common (Jaccard), same class against other classes."""
    sets = [set(row[row >= 0].tolist()) for row in codes]
    same, other = [], []
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            jac = len(sets[i] & sets[j]) / max(1, len(sets[i] | sets[j]))
            (same if labels[i] == labels[j] else other).append(jac)
    return float(np.mean(same)), float(np.mean(other))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--geometry", nargs="+", default=["hyperbolic", "euclidean"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--out", default=str(ROOT / "metrics/ablations/vqvae_fit.json"))
    args = ap.parse_args(argv)
    import torch

    from skellm.io import write_json
    from skellm.vqvae.codebook import perplexity
    from skellm.vqvae.model import VQConfig
    from skellm.vqvae.tokens import load_split_sets
    from skellm.vqvae.train import train_vqvae

    sets = load_split_sets(ROOT / "data/split")  # as the vqvae_tokens stage reads them
    train, test = sets["train"], sets["test"]
    out = {}
    for geometry in args.geometry:
        cfg = dataclasses.replace(VQConfig(), geometry=geometry)
        t0 = time.perf_counter()
        model, hist = train_vqvae(train.positions, train.time_mask, cfg, args.steps, seed=args.seed)
        secs = time.perf_counter() - t0
        x, m = torch.as_tensor(test.positions), torch.as_tensor(test.time_mask)
        with torch.no_grad():
            res = model(x, m)
        codes = res.codes.numpy()
        valid = codes[codes >= 0]
        counts = np.bincount(valid, minlength=cfg.codes)
        same, other = token_overlap(codes, test.labels)
        out[geometry] = {
            "train_seconds": round(secs, 1),
            "first_recon": round(hist[0]["recon"], 4),
            "train_recon": round(hist[-1]["recon"], 4),
            "test_recon": round(float(res.losses["recon"]), 4),
            "test_usage": round(float((counts > 0).mean()), 4),
            "test_perplexity": round(float(perplexity(torch.as_tensor(valid), cfg.codes)), 2),
            "distinct_sentences": len({tuple(r) for r in codes.tolist()}),
            "n_test": len(codes),
            "token_jaccard_same_class": round(same, 4),
            "token_jaccard_other_class": round(other, 4),
        }
        print(geometry, json.dumps(out[geometry]), flush=True)
    write_json(Path(args.out), {"steps": args.steps, "seed": args.seed, "runs": out})


if __name__ == "__main__":
    main()
