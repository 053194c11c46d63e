"""Write the synthetic mocap corpora (Emilya-, KDAE-, EGBM- and NTU RGB+D-like) as raw files.

A: Xsens BVH (+ some MVNX), B: Perception Neuron BVH + file-info.csv, C: Kinect v2 text in one folder
per emotion; each corpus has an annotations.csv (intensity, description). Same seed, same bytes.
"""

from __future__ import annotations

import argparse

from skellm.config import SynthConfig

EXAMPLE = "skellm synth -o data/raw --size tiny --seed 0"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--out", default=SynthConfig.out, help="output folder (gets A/, B/, C/)")
    parser.add_argument("--size", default=SynthConfig.size, help="tiny | default | paper")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--workers", type=int, default=SynthConfig.workers, help="parallel processes (0: all usable cores)"
    )
    parser.add_argument("--corpora", default="A,B,C,D", help="comma-separated subset of A,B,C,D")
    parser.add_argument(
        "--describe-fraction",
        type=float,
        default=SynthConfig.describe_fraction,
        help="share of takes with a description",
    )
    parser.add_argument(
        "--mvnx-fraction",
        type=float,
        default=SynthConfig.mvnx_fraction,
        help="share of corpus A takes written as MVNX",
    )


def run(args: argparse.Namespace) -> int:
    from skellm.synth.corpora import CORPORA, generate

    names = tuple(c.strip() for c in args.corpora.split(",") if c.strip())
    unknown = [c for c in names if c not in CORPORA]
    if unknown:
        raise ValueError(f"unknown corpus {', '.join(unknown)}; known: {', '.join(CORPORA)}")
    counts = generate(
        args.out,
        size=args.size,
        seed=args.seed,
        workers=args.workers,
        describe_fraction=args.describe_fraction,
        mvnx_fraction=args.mvnx_fraction,
        corpora=names,
    )
    print(", ".join(f"{c}: {n} takes" for c, n in counts.items()) + f" written under {args.out}")
    return 0
