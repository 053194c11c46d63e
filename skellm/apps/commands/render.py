"""Draw mocap files as 3D stick figures: a GIF/MP4 animation of one take, or a contact-sheet PNG of several.

An animation plays in real time at --fps (default: the file's rate, at most 25) with one frame per
1/fps second of the take; a take longer than --max-frames frames is sampled down to --max-frames
frames at a lower playback rate, so it still lasts as long as the take. Frames are SIZE x SIZE
pixels. Joints that the sensor lost are drawn as red crosses with dashed bones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXAMPLE = (
    'skellm render take.bvh -o take.gif --caption "joy: arms open, quick light steps"\n'
    "  skellm render --grid a.bvh b.skeleton c.txt -o sheet.png"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from skellm.apps.render import DEFAULT_KEYFRAMES, DEFAULT_MAX_FRAMES, DEFAULT_SIZE, GRID_CELL

    parser.description = __doc__
    parser.add_argument("files", nargs="+", metavar="FILE", help="mocap file(s) in any format skellm reads")
    parser.add_argument("-o", "--out", required=True, help="OUT.gif or OUT.mp4 (OUT.png with --grid)")
    parser.add_argument("--caption", help="text under the figure, e.g. the label and its explanation")
    parser.add_argument("--fps", type=float, help="playback frames per second (default: min(file, 25))")
    parser.add_argument(
        "--max-frames",
        type=int,
        default=DEFAULT_MAX_FRAMES,
        help=f"most frames to draw (default {DEFAULT_MAX_FRAMES}; 0: no limit)",
    )
    parser.add_argument(
        "--size",
        type=int,
        help=f"frame width = height in pixels (default {DEFAULT_SIZE}; {GRID_CELL} per cell with --grid)",
    )
    parser.add_argument(
        "--grid", action="store_true", help="contact sheet PNG: one row of key frames per FILE"
    )
    parser.add_argument(
        "--keyframes", type=int, default=DEFAULT_KEYFRAMES, help="key frames per take with --grid"
    )


def run(args: argparse.Namespace) -> int:
    from skellm.apps.render import DEFAULT_SIZE, GRID_CELL, render_animation, render_grid

    out = Path(args.out)
    want = (".png",) if args.grid else (".gif", ".mp4")
    if out.suffix.lower() not in want:
        return _fail(f"{out}: output must end in {' or '.join(want)}")
    if not args.grid and len(args.files) > 1:
        return _fail(f"{len(args.files)} files given: one animation per file, or use --grid")
    size = args.size or (GRID_CELL if args.grid else DEFAULT_SIZE)
    if size < 64 or (not args.grid and size % 16):
        return _fail(f"--size {size}: must be at least 64 and, for video, a multiple of 16")
    from skellm.readers import read_motion
    from skellm.readers.base import ReadError

    try:
        motions = [read_motion(f) for f in args.files]
    except ReadError as err:
        return _fail(str(err))
    except OSError as err:
        return _fail(f"{err.filename or args.files[0]}: {err.strerror or err}")
    try:
        if args.grid:
            names = [Path(f).name for f in args.files]
            h, w = render_grid(motions, out, names, n_keyframes=args.keyframes, cell=size)
            print(f"wrote {out}: {len(motions)} takes x {args.keyframes} frames, {w}x{h}")
            return 0
        info = render_animation(
            motions[0],
            out,
            caption=args.caption,
            fps=args.fps,
            max_frames=args.max_frames or None,
            size=size,
            title=Path(args.files[0]).name,
            progress=sys.stderr.isatty(),
        )
    except ValueError as err:
        return _fail(str(err))
    print(f"wrote {out}: {info.n_frames} frames, {info.width}x{info.height}, {info.fps:.4g} fps")
    return 0


def _fail(msg: str) -> int:
    print(f"skellm render: error: {msg}", file=sys.stderr)
    return 1
