"""``skellm layout``: how a take's rig maps onto the canonical skeleton, and a pinned map file of it.

Prints each canonical joint with the source joint it comes from and the evidence, the map's source
(pinned, declared or automatic), its confidence and any problem. ``-o rigs/NAME.yaml`` writes the map
as a pinned map for ``harmonize.joint_maps``. Exits 1 when a canonical joint has no source joint.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from skellm.config import HarmonizeConfig

EXAMPLE = "skellm layout my_take.bvh -o rigs/my_suit.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="a mocap file (.bvh, .mvnx, Kinect .txt, .skeleton, .npz)")
    parser.add_argument("-o", "--out", type=Path, help="write the map as a pinned map YAML (rigs/NAME.yaml)")
    parser.add_argument("--name", help="the pinned map's name (default: the output file's stem)")
    parser.add_argument(
        "--auto", action="store_true", help="the automatic map even where a declared one fits"
    )
    parser.add_argument("--joint-map", action="append", default=[], help="pinned map YAML to try first")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    import yaml

    from skellm.data.rigmap import auto_map, map_rig, rig_yaml
    from skellm.readers import ReadError, ReadWarning, read_motion

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReadWarning)
            m = read_motion(args.file, strict=False)
    except ReadError as exc:
        print(f"skellm layout: {exc}", file=sys.stderr)
        return 1
    if args.auto:
        rig = auto_map(m.joint_names, m.parents, m.positions)
    else:
        rig = map_rig(m.joint_names, m.parents, m.positions, m.layout, args.joint_map)
    threshold = HarmonizeConfig.min_map_confidence
    why = rig.reason(threshold)
    name = args.name or (args.out.stem if args.out else args.file.stem)
    doc = rig_yaml(rig, name)
    if args.json:
        print(
            json.dumps(
                {"file": str(args.file), **doc, "missing": rig.missing, "usable": why is None}, indent=2
            )
        )
    else:
        print(f"{args.file}: {m.n_joints} joints, map {rig.source}, confidence {rig.confidence:.2f}")
        for canon, src in doc["map"].items():
            print(f"  {canon:>10} <- {src:<24} {rig.evidence.get(canon, '')}")
        for problem in rig.problems:
            print(f"  note: {problem}")
        if why:
            print(f"  not usable at harmonize.min_map_confidence {threshold}: {why}")
    if rig.missing:
        print(f"skellm layout: {args.file}: {why}", file=sys.stderr)
        return 1
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(yaml.safe_dump(doc, sort_keys=False))
        out = sys.stderr if args.json else sys.stdout
        print(f"wrote {args.out} (add it to harmonize.joint_maps in params.yaml)", file=out)
    return 0
