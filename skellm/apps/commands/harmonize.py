"""``skellm harmonize``: metres, Y up, root-centred, fixed frames, native or canonical joints."""

from __future__ import annotations

import argparse
from pathlib import Path

from skellm.config import HarmonizeConfig
from skellm.data.harmonize import harmonize_file

D = HarmonizeConfig()  # defaults of params.yaml's harmonize section

EXAMPLE = "skellm harmonize data/validated/takes.parquet -o harmonized.parquet --joints canonical"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", help="validated take table (.parquet)")
    parser.add_argument("-o", "--out", required=True, help="harmonized take table (.parquet)")
    parser.add_argument("--layouts", help="layouts JSON (default: beside OUT as layouts.json)")
    parser.add_argument("--joints", choices=["native", "canonical"], default=D.joints)
    parser.add_argument("--target-fps", type=float, default=D.target_fps)
    parser.add_argument("--frames", type=int, default=D.frames)
    parser.add_argument("--drop-end-sites", action="store_true")
    parser.add_argument("--center", choices=["first_frame", "every_frame"], default=D.center)
    parser.add_argument(
        "--joint-map", action="append", default=[], help="pinned rig map YAML (skellm layout -o), tried first"
    )
    parser.add_argument("--min-map-confidence", type=float, default=D.min_map_confidence)


def run(args: argparse.Namespace) -> int:

    cfg = HarmonizeConfig(
        args.target_fps,
        args.frames,
        args.joints,
        args.drop_end_sites,
        args.center,
        tuple(args.joint_map),
        args.min_map_confidence,
    )
    layouts = args.layouts or str(Path(args.out).with_name("layouts.json"))
    n = harmonize_file(args.table, args.out, layouts, cfg)
    print(
        f"harmonize: {n} takes -> {args.out} "
        f"({cfg.joints} joints, {cfg.frames} frames at {cfg.target_fps} fps)"
    )
    return 0
