"""Rendering: animation frame counts and sizes read back from real GIF/MP4/PNG files, every raw
format rendered through the readers, and the CLI's one-line errors."""

from __future__ import annotations

import math
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest

from skellm.apps.cli import main
from skellm.apps.render import (
    DEFAULT_FPS,
    as_motion,
    frame_plan,
    render_animation,
    render_frames,
    render_grid,
)
from skellm.layouts import KINECT_V2, XSENS23
from skellm.readers.base import Motion

# Rest poses in metres, Y up, facing +Z (the body's left along +X).
_XSENS_REST = {
    "Pelvis": (0, 0.95, 0), "L5": (0, 1.03, 0), "L3": (0, 1.12, 0), "T12": (0, 1.21, 0),
    "T8": (0, 1.33, 0), "Neck": (0, 1.50, 0), "Head": (0, 1.62, 0.02),
    "RightShoulder": (-0.05, 1.45, 0), "RightUpperArm": (-0.18, 1.43, 0),
    "RightForeArm": (-0.20, 1.15, 0), "RightHand": (-0.21, 0.90, 0.02),
    "LeftShoulder": (0.05, 1.45, 0), "LeftUpperArm": (0.18, 1.43, 0),
    "LeftForeArm": (0.20, 1.15, 0), "LeftHand": (0.21, 0.90, 0.02),
    "RightUpperLeg": (-0.09, 0.92, 0), "RightLowerLeg": (-0.10, 0.50, 0.02),
    "RightFoot": (-0.10, 0.08, 0), "RightToe": (-0.10, 0.02, 0.12),
    "LeftUpperLeg": (0.09, 0.92, 0), "LeftLowerLeg": (0.10, 0.50, 0.02),
    "LeftFoot": (0.10, 0.08, 0), "LeftToe": (0.10, 0.02, 0.12),
}  # fmt: skip
_KINECT_REST = {
    "SpineBase": (0, 1.00, 0), "SpineMid": (0, 1.25, 0), "SpineShoulder": (0, 1.45, 0),
    "Neck": (0, 1.52, 0), "Head": (0, 1.65, 0.02), "ShoulderLeft": (0.18, 1.42, 0),
    "ElbowLeft": (0.22, 1.15, 0), "WristLeft": (0.24, 0.92, 0.03), "HandLeft": (0.24, 0.85, 0.04),
    "HandTipLeft": (0.24, 0.77, 0.05), "ThumbLeft": (0.22, 0.86, 0.08),
    "ShoulderRight": (-0.18, 1.42, 0), "ElbowRight": (-0.22, 1.15, 0),
    "WristRight": (-0.24, 0.92, 0.03), "HandRight": (-0.24, 0.85, 0.04),
    "HandTipRight": (-0.24, 0.77, 0.05), "ThumbRight": (-0.22, 0.86, 0.08),
    "HipLeft": (0.09, 0.98, 0), "KneeLeft": (0.10, 0.53, 0.02), "AnkleLeft": (0.10, 0.09, 0),
    "FootLeft": (0.10, 0.03, 0.10), "HipRight": (-0.09, 0.98, 0), "KneeRight": (-0.10, 0.53, 0.02),
    "AnkleRight": (-0.10, 0.09, 0), "FootRight": (-0.10, 0.03, 0.10),
}  # fmt: skip


def _kinect_take(t: int = 40, walk_mps: float = 0.0, fps: float = 30.0) -> np.ndarray:
    """(t, 25, 3) metres, Y up: the right arm waves; optionally walking along +Z."""
    pos = np.repeat(np.array([_KINECT_REST[n] for n in KINECT_V2.joint_names], np.float32)[None], t, 0)
    phase = np.sin(np.linspace(0, 2 * np.pi, t))
    for name in ("ElbowRight", "WristRight", "HandRight", "HandTipRight", "ThumbRight"):
        j = KINECT_V2.index(name)
        pos[:, j, 1] += 0.2 * (1 + phase)
        pos[:, j, 2] += 0.1 * phase
    pos[:, :, 2] += walk_mps * np.arange(t)[:, None] / fps
    return pos


def _kinect_motion(t: int = 40, fps: float = 30.0, **kw) -> Motion:
    return as_motion(
        _kinect_take(t, fps=fps, **kw), KINECT_V2.parents, fps=fps, joint_names=KINECT_V2.joint_names
    )


def _mp4_frames(path: Path) -> tuple[int, tuple[int, int]]:
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    return sum(1 for _ in gen), tuple(meta["size"])


def _ink(img: np.ndarray) -> int:
    """Pixels that are clearly not background: a drawn figure has plenty."""
    return int((img.min(axis=-1) < 160).sum())


# ----------------------------------------------------------------------------- library


def test_frame_plan_follows_fps_and_cap():
    idx, fps = frame_plan(60, 30.0)  # default: min(source, 25) fps, real time
    assert fps == DEFAULT_FPS and len(idx) == round(60 * DEFAULT_FPS / 30) and idx[0] == 0 and idx[-1] == 59
    idx, fps = frame_plan(240, 120.0, fps=10)
    assert len(idx) == 20 and fps == 10
    idx, fps = frame_plan(1200, 120.0, max_frames=50)  # 10 s capped to 50 frames, still 10 s long
    assert len(idx) == 50 and math.isclose(len(idx) / fps, 10.0)
    assert np.all(np.diff(idx) > 0)


def test_gif_frame_count_size_and_timing(tmp_path):
    m = _kinect_motion(t=36, fps=30.0)
    info = render_animation(m, tmp_path / "a.gif", caption="joy: arms raised, light quick steps")
    frames = iio.imread(tmp_path / "a.gif", index=None)
    expected = round(36 * DEFAULT_FPS / 30)
    assert info.n_frames == expected
    assert frames.shape[:3] == (expected, 480, 480)
    assert abs(iio.immeta(tmp_path / "a.gif")["duration"] - 1000 / DEFAULT_FPS) <= 10
    assert _ink(frames[0]) > 500


def test_mp4_frame_count_and_size(tmp_path):
    m = _kinect_motion(t=48, fps=30.0)
    info = render_animation(m, tmp_path / "a.mp4", fps=15, max_frames=None, size=160)
    assert info.n_frames == 24 and info.fps == 15
    assert _mp4_frames(tmp_path / "a.mp4") == (24, (160, 160))


def test_max_frames_caps_a_long_take(tmp_path):
    info = render_animation(
        _kinect_take(300),
        tmp_path / "a.gif",
        max_frames=12,
        size=128,
        source_fps=30.0,
        parents=KINECT_V2.parents,
    )
    assert iio.imread(tmp_path / "a.gif", index=None).shape[:3] == (12, 128, 128)
    assert math.isclose(info.n_frames / info.fps, 300 / 30.0)


def test_frames_draw_the_bones_that_move():
    pos = _kinect_take(t=40)
    img = render_frames(pos, KINECT_V2.parents, frames=[0, 20], size=160, joint_names=KINECT_V2.joint_names)
    assert img.shape == (2, 160, 160, 3) and img.dtype == np.uint8
    # a waving arm changes the picture; a body without bones (no parents) draws less ink
    assert (np.abs(img[0].astype(int) - img[1].astype(int)).max(axis=-1) > 60).sum() > 20
    dots = render_frames(pos, [-1] * 25, frames=[0], size=160)
    assert _ink(dots[0]) < _ink(img[0])
    # bone-less points named like a declared layout (C3D markers) get that layout's bones
    named = render_frames(pos, [-1] * 25, frames=[0], size=160, joint_names=KINECT_V2.joint_names)
    assert np.array_equal(named[0], img[0])


def test_lost_joints_are_drawn_in_red():
    pos = _kinect_take(t=4)
    tracked = np.ones(pos.shape[:2], bool)
    red = {}
    for lost in (False, True):
        tracked[:, KINECT_V2.index("HandLeft")] = not lost
        img = render_frames(pos, KINECT_V2.parents, size=160, tracked=tracked, frames=[0]).astype(int)[0]
        red[lost] = int(((img[..., 0] > 180) & (img[..., 1] < 90) & (img[..., 2] < 90)).sum())
    assert red[False] == 0 and red[True] > 5


def test_y_up_and_z_up_give_the_same_picture():
    pos = _kinect_take(t=2)
    z_up = np.stack([pos[..., 0], -pos[..., 2], pos[..., 1]], axis=-1)
    a = render_frames(
        pos, KINECT_V2.parents, up_axis="y", size=160, frames=[1], joint_names=KINECT_V2.joint_names
    )
    b = render_frames(
        z_up, KINECT_V2.parents, up_axis="z", size=160, frames=[1], joint_names=KINECT_V2.joint_names
    )
    assert np.array_equal(a, b)
    # drawn upright: the head (top of the figure) sits above the feet, ink spans most of the height
    rows = np.where((a[0].min(axis=-1) < 160).any(axis=1))[0]
    assert rows.max() - rows.min() > 0.5 * 160


def test_harmonized_row_renders():
    pos = _kinect_take(t=8)
    row = {
        "take_id": "C/joy/x", "n_frames": 8, "n_joints": 25, "fps": 30.0, "up_axis": "y",
        "joint_names": list(KINECT_V2.joint_names), "parents": list(KINECT_V2.parents),
        "positions": pos.ravel().tolist(), "tracked": None,
    }  # fmt: skip
    img = render_frames(row, size=128, frames=[0, 7])
    assert img.shape == (2, 128, 128, 3) and _ink(img[0]) > 100


def test_walking_take_stays_in_view():
    m = _kinect_motion(t=90, walk_mps=1.5)  # 4.5 m of travel: the camera follows
    img = render_frames(m, frames=[0, 89], size=160)
    for k in range(2):
        cols = np.where((img[k].min(axis=-1) < 100).any(axis=0))[0]
        assert cols.size and 30 < cols.mean() < 130


def test_grid_png_size(tmp_path):
    takes = [_kinect_motion(t=30), _kinect_motion(t=50, walk_mps=1.0), _kinect_motion(t=20)]
    h, w = render_grid(takes, tmp_path / "g.png", titles=["a", "b", "c"], n_keyframes=4, cell=96)
    img = iio.imread(tmp_path / "g.png")
    assert (h, w) == (3 * 96, 4 * 96) == img.shape[:2]
    for r in range(3):
        for c in range(4):
            assert _ink(img[r * 96 : (r + 1) * 96, c * 96 : (c + 1) * 96]) > 30


def test_bad_inputs_raise_value_errors(tmp_path):
    with pytest.raises(ValueError, match="parents"):
        as_motion(np.zeros((3, 7, 3)))
    nan = as_motion(np.full((3, 25, 3), np.nan), KINECT_V2.parents)
    with pytest.raises(ValueError, match="no finite"):
        render_frames(nan)
    with pytest.raises(ValueError, match=r"\.gif or \.mp4"):
        render_animation(_kinect_motion(t=3), tmp_path / "a.avi")


# ----------------------------------------------------------------------------- formats via readers


def _xsens_yup(t: int) -> np.ndarray:
    pos = np.repeat(np.array([_XSENS_REST[n] for n in XSENS23.joint_names], np.float64)[None], t, 0)
    pos[:, XSENS23.index("RightHand"), 1] += np.linspace(0, 0.3, t)
    return pos


def _write_bvh(path: Path, t: int = 12) -> None:
    from skellm.readers.bvh import write_bvh

    rest = np.array([_XSENS_REST[n] for n in XSENS23.joint_names]) * 100  # cm
    offsets = rest - np.where(np.array(XSENS23.parents)[:, None] >= 0, rest[list(XSENS23.parents)], rest)
    offsets[0] = 0
    rot = np.zeros((t, 23, 3))
    rot[:, XSENS23.index("RightUpperArm"), 0] = np.linspace(0, -60, t)  # ZXY order: Z swings the arm
    trans = np.repeat(rest[:1], t, 0)
    write_bvh(path, list(XSENS23.joint_names), list(XSENS23.parents), offsets, rot, trans, fps=120.0)


def _write_mvnx(path: Path, t: int = 12) -> None:
    from skellm.readers.mvnx import write_mvnx

    y = _xsens_yup(t)
    write_mvnx(path, list(XSENS23.joint_names), np.stack([y[..., 0], -y[..., 2], y[..., 1]], -1), None, 60.0)


def _write_kinect(path: Path, t: int = 12) -> None:
    from skellm.readers.kinect import write_kinect_text

    pos = _kinect_take(t) + np.array([0.0, -0.8, 2.5])  # camera space: sensor ~1 m up, body 2.5 m away
    state = np.full((t, 25), 2)
    state[:, KINECT_V2.index("HandLeft")] = 0
    ori = np.tile([1.0, 0, 0, 0], (t, 25, 1))
    write_kinect_text(path, pos, ori, state, fps=30.0)


def _write_ntu(path: Path, t: int = 12) -> None:
    """NTU RGB+D .skeleton text: frame count; per frame body count, body line, 25, 25 joint lines."""
    pos = _kinect_take(t) + np.array([0.0, -0.5, 3.0])
    lines = [str(t)]
    for f in range(t):
        lines += ["1", "72057594037931101 0 1 1 1 1 0 0.02 0.1 2", "25"]
        for x, y, z in pos[f]:
            lines.append(f"{x:.6f} {y:.6f} {z:.6f} 250.1 200.2 900.3 500.4 1 0 0 0 2")
    path.write_text("\n".join(lines) + "\n")


def _write_c3d(path: Path, t: int = 12) -> None:
    import ezc3d

    y = _xsens_yup(t) * 1000  # mm, lab Z up
    z_up = np.stack([y[..., 0], -y[..., 2], y[..., 1]], -1)
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [100.0]
    c["parameters"]["POINT"]["LABELS"]["value"] = list(XSENS23.joint_names)
    c["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    pts = np.ones((4, 23, t))
    pts[:3] = z_up.transpose(2, 1, 0)
    c["data"]["points"] = pts
    c.write(str(path))


def _write_npy(path: Path, t: int = 12) -> None:
    import json

    np.save(path, _kinect_take(t).astype(np.float32))
    side = {"joint_names": list(KINECT_V2.joint_names), "parents": list(KINECT_V2.parents), "fps": 30}
    path.with_suffix(".json").write_text(json.dumps(side))


WRITERS = {
    "take.bvh": _write_bvh,
    "take.mvnx": _write_mvnx,
    "take.txt": _write_kinect,
    "S001C001P001R001A001.skeleton": _write_ntu,
    "take.c3d": _write_c3d,
    "take.npy": _write_npy,
}


@pytest.fixture
def read_motion():
    try:
        from skellm.readers import read_motion
    except ImportError:
        pytest.skip("skellm.readers.read_motion has not landed yet")
    return read_motion


@pytest.mark.parametrize("name", list(WRITERS))
def test_every_format_renders_through_the_cli(name, tmp_path, read_motion, capsys):
    src = tmp_path / name
    WRITERS[name](src)
    m = read_motion(src)
    assert m.n_frames == 12
    out = tmp_path / "out.gif"
    assert main(["render", str(src), "-o", str(out), "--size", "128", "--fps", "10"]) == 0
    frames = iio.imread(out, index=None)
    n, _ = frame_plan(m.n_frames, m.fps, 10)
    assert frames.shape[:3] == (len(n), 128, 128)
    assert _ink(frames[-1]) > 60, f"{name}: nothing drawn"
    assert "wrote" in capsys.readouterr().out


def test_cli_grid_of_several_formats(tmp_path, read_motion):
    files = []
    for name in ("take.bvh", "take.txt"):
        WRITERS[name](tmp_path / name)
        files.append(str(tmp_path / name))
    out = tmp_path / "sheet.png"
    assert main(["render", "--grid", *files, "-o", str(out), "--size", "96", "--keyframes", "3"]) == 0
    assert iio.imread(out).shape[:2] == (2 * 96, 3 * 96)


def test_cli_unreadable_file_is_one_line_and_nonzero(tmp_path, read_motion, capsys):
    bad = tmp_path / "broken.bvh"
    bad.write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0\n")
    assert main(["render", str(bad), "-o", str(tmp_path / "x.gif")]) != 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "broken.bvh" in err and "Traceback" not in err
    assert not (tmp_path / "x.gif").exists()
    assert main(["render", str(tmp_path / "missing.bvh"), "-o", str(tmp_path / "x.gif")]) != 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "missing.bvh" in err


def test_cli_rejects_bad_output_and_many_files(tmp_path, capsys):
    assert main(["render", "a.bvh", "-o", str(tmp_path / "x.avi")]) == 1
    assert main(["render", "a.bvh", "b.bvh", "-o", str(tmp_path / "x.gif")]) == 1
    errs = capsys.readouterr().err.strip().splitlines()
    assert len(errs) == 2 and "x.avi" in errs[0] and "--grid" in errs[1]
