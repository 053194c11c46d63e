"""Bad input: every case is a one-line ReadError naming the file, never another exception."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from skellm.readers import ReadError, read_motion
from skellm.readers.bvh import write_bvh

FIX = Path(__file__).parent / "fixtures"
GOOD = (FIX / "xsens_mvn.bvh").read_text()


def _bvh(tmp_path, text, name="bad.bvh"):
    p = tmp_path / name
    p.write_text(text) if isinstance(text, str) else p.write_bytes(text)
    return p


def _frames(n):
    head, motion = GOOD.split("MOTION\n")
    rows = motion.split("\n")[2:3]
    return head + f"MOTION\nFrames: {n}\nFrame Time: 0.008333\n" + "\n".join(rows * n) + "\n"


CASES = {
    "empty": ("", "empty file"),
    "truncated_hierarchy": (GOOD[: GOOD.index("JOINT L3")], "no MOTION section"),
    "truncated_frames": (GOOD.rsplit("\n", 3)[0] + "\n", "truncated: header declares 4 frames"),
    "short_frame_inside": (
        GOOD.replace("\n0.0000 ", "\n", 1),
        "frame 1 (line 140) has 71 values but the hierarchy declares 72 channels",
    ),
    "unbalanced": (GOOD.replace("}\n", "", 1), "unclosed"),
    "channel_mismatch": (
        GOOD.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 3 Zrotation Xrotation", 1),
        "bad CHANNELS",
    ),
    "data_width": (
        GOOD.replace("CHANNELS 3 Zrotation", "CHANNELS 6 Xposition Yposition Zposition Zrotation", 1),
        "hierarchy declares",
    ),
    "nan": (GOOD.replace("\n0.0000 ", "\nnan ", 1), "non-finite"),
    "inf": (GOOD.replace("\n0.0000 ", "\ninf ", 1), "non-finite"),
    "garbage_number": (GOOD.replace("\n0.0000 ", "\n0.0x0 ", 1), "non-numeric"),
    "zero_frames": (_frames(0), "no frames"),
    "one_frame": (_frames(1), "only 1 frame"),
    "bad_frame_time": (GOOD.replace("Frame Time: 0.008333", "Frame Time: 0"), "Frame Time must be positive"),
    "binary": (bytes(range(256)) * 20, "binary"),
    "latin_noise": (bytes([0xC3, 0x28, 0xA0, 0xA1]) * 300, "not a BVH"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_bvh(tmp_path, case):
    text, reason = CASES[case]
    p = _bvh(tmp_path, text)
    with pytest.raises(ReadError) as err:
        read_motion(p)
    msg = str(err.value)
    assert msg.startswith(str(p)) and "\n" not in msg and reason in msg


def test_truncated_frames_are_kept_when_not_strict(tmp_path):
    # Fewer complete frames than declared is a problem (a ReadError above); read leniently, the frames
    # that are there are kept and the reason is listed.
    p = _bvh(tmp_path, GOOD.rsplit("\n", 3)[0] + "\n")
    m = read_motion(p, strict=False)
    why = "truncated: header declares 4 frames, file has 2 complete frames"
    assert m.n_frames == 2 and m.meta["problems"] == [why] and m.meta["read_problems"] == [why]
    assert m.meta["warnings"] == []


def test_unknown_joint_names_where_layout_required(tmp_path):
    write_bvh(
        tmp_path / "odd.bvh",
        ["Root", "Thing"],
        [-1, 0],
        np.array([[0, 90, 0], [0, 80, 0.0]]),
        np.zeros((3, 2, 3)),
        np.tile([0, 90.0, 0], (3, 1)),
        30,
    )
    with pytest.raises(ReadError, match="do not match layout 'xsens_bvh'.*unknown: Root, Thing"):
        read_motion(tmp_path / "odd.bvh", layout="xsens_bvh")
    with pytest.raises(ReadError, match="match no declared layout"):
        read_motion(tmp_path / "odd.bvh", layout="any")
    assert read_motion(FIX / "xsens_mvn.bvh", layout="xsens_bvh").layout == "xsens_bvh"


def test_wrong_extension(tmp_path):
    shutil.copy(FIX / "xsens_mvn.bvh", tmp_path / "take.mvnx")
    with pytest.raises(ReadError, match="extension .mvnx says mvnx but the content looks like bvh"):
        read_motion(tmp_path / "take.mvnx")
    shutil.copy(FIX / "xsens_mvn.bvh", tmp_path / "take.jpg")
    with pytest.raises(ReadError, match="unsupported extension '.jpg'.*looks like bvh"):
        read_motion(tmp_path / "take.jpg")


@pytest.mark.parametrize(
    "name, data, reason",
    [
        (
            "a.mvnx",
            b'<?xml version="1.0"?>\n<mvnx version="4"><subject frameRate="60"><segments>',
            "corrupt or truncated XML",
        ),
        ("a.txt", b"# Kinect v2\n# fps: 30\n0.0 2 0.1 0.2\n", "expected 201"),
        ("a.skeleton", b"3\n1\n72057594037931101 0 1 1 1 1 0 0.1 0.2 2\n25\n0 0 0\n", "truncated .skeleton"),
        ("a.c3d", b"\x02P" + b"\x00" * 600, "corrupt C3D"),
        ("a.npy", b"\x93NUMPY garbage", "corrupt NumPy"),
        ("a.csv", b"frame,joint,x,y,z\n0,Head,1,2\n", "bad CSV row 2"),
    ],
)
def test_bad_other_formats(tmp_path, name, data, reason):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(ReadError, match=reason) as err:
        read_motion(p, fps=30)
    assert "\n" not in str(err.value) and str(err.value).startswith(str(p))
