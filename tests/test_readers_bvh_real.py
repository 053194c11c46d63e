"""Real BVH files written by other software (tests/fixtures/real, see its README), checked against truth
that does not come from skellm: the files' own header lines and hierarchy (counted with regular
expressions) and world positions from a second forward kinematics written here on top of the PyPI
parser ``bvh`` 0.3 (which only tokenises) and scipy's rotations. Then every format quirk exporters produce,
each as a variant of every real file that must give the clean original's positions, and the
frame-count policy (module docstring of skellm.readers.bvh).
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from bvh import Bvh
from scipy.spatial.transform import Rotation

from skellm.readers import ReadError, ReadWarning, read_motion

REAL = Path(__file__).parent / "fixtures" / "real"
MANIFEST = json.loads((REAL / "manifest.json").read_text())
ENTRIES = {e["file"]: e for e in MANIFEST["files"]}
NAMES = sorted(ENTRIES)


def _read(path: Path, **kw):
    """read_motion, with its ReadWarning reasons returned beside the motion."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = read_motion(path, **kw)
    return m, [str(w.message) for w in caught if issubclass(w.category, ReadWarning)]


# ------------------------------------------------------------------------ truth from outside skellm


def _header(text: str) -> tuple[int, float]:
    frames = re.search(r"Frames:\s*(\d+)", text)
    frame_time = re.search(r"Frame Time:\s*(\S+)", text)
    return int(frames.group(1)), float(frame_time.group(1))


def _hierarchy_counts(text: str) -> tuple[int, int, int]:
    """(ROOT + JOINT lines, End Site lines, sum of CHANNELS counts) of the part before MOTION."""
    head = text[: re.search(r"^\s*MOTION\s*$", text, re.M).start()]
    joints = len(re.findall(r"^\s*(?:ROOT|JOINT)\s", head, re.M))
    ends = len(re.findall(r"^\s*End\s+Site", head, re.M))
    channels = sum(int(n) for n in re.findall(r"CHANNELS\s+(\d+)", head))
    return joints, ends, channels


def peer_positions(path: Path) -> tuple[list[str], np.ndarray]:
    """Joint names (End Sites as ``<parent>_End``) and world positions (T, J, 3) in file order.

    Tokens from ``bvh`` 0.3; forward kinematics here: each joint's local rotation is the product of its
    rotation channels in the order listed (scipy, intrinsic), position channels replace the OFFSET on the
    axes they name, world = parent world rotation applied to the local translation plus the parent
    world position.
    """
    mocap = Bvh(path.read_bytes().decode("ascii"))
    frames = np.array(mocap.frames, dtype=np.float64)
    n = frames.shape[0]
    names: list[str] = []
    out: list[np.ndarray] = []

    def walk(node, parent_r: np.ndarray, parent_t: np.ndarray) -> None:
        name = node.value[1]
        chans = mocap.joint_channels(name)
        col = mocap.get_joint_channels_index(name)
        local_t = np.tile(np.array(mocap.joint_offset(name)), (n, 1))
        axes, cols = "", []
        for k, c in enumerate(chans):
            if c.lower().endswith("position"):
                local_t[:, "xyz".index(c[0].lower())] = frames[:, col + k]
            else:
                axes += c[0].upper()
                cols.append(col + k)
        local_r = (
            Rotation.from_euler(axes, frames[:, cols], degrees=True).as_matrix()
            if axes
            else np.tile(np.eye(3), (n, 1, 1))
        )
        world_t = parent_t + np.einsum("tab,tb->ta", parent_r, local_t)
        world_r = parent_r @ local_r
        names.append(name)
        out.append(world_t)
        for child in node.children:
            if child.value[0] == "JOINT":
                walk(child, world_r, world_t)
            elif child.value[0] == "End":
                off = np.array([float(v) for v in child["OFFSET"]])
                names.append(f"{name}_End")
                out.append(world_t + world_r @ off)

    walk(next(mocap.root.filter("ROOT")), np.tile(np.eye(3), (n, 1, 1)), np.zeros((n, 3)))
    return names, np.stack(out, axis=1)


# -------------------------------------------------------------------------------- the real files


def test_manifest_lists_every_file_with_provenance():
    on_disk = sorted(p.name for p in REAL.glob("*.bvh"))
    assert on_disk == NAMES and len(NAMES) >= 4
    for e in MANIFEST["files"]:
        assert e["exporter"] and e["licence"] and e["rig"] and e["source"]["channel"], e["file"]


@pytest.mark.parametrize("name", NAMES)
def test_real_file_bytes_are_as_published(name):
    e = ENTRIES[name]
    raw = (REAL / name).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == e["sha256"]
    if not e["trimmed"]:
        assert e["sha256"] == e["source"]["sha256"]
    # git must not have normalised the line endings of CRLF files
    assert (b"\r\n" in raw) == (e["line_endings"] == "CRLF")


@pytest.mark.parametrize("name", NAMES)
def test_real_file_header_and_hierarchy(name):
    e = ENTRIES[name]
    text = (REAL / name).read_bytes().decode("ascii")
    declared, frame_time = _header(text)
    joints, ends, channels = _hierarchy_counts(text)
    assert (declared, frame_time) == (e["frames_declared"], e["frame_time"])
    assert (joints, ends, channels) == (e["joints"], e["end_sites"], e["channels"])

    m, warned = _read(REAL / name)
    assert m.n_frames == e["frames_kept"] == len(Bvh(text).frames)
    assert m.meta["frames_declared"] == declared and m.meta["frame_time"] == frame_time
    assert m.fps == pytest.approx(1 / frame_time, rel=1e-3)
    assert m.n_joints == joints + ends and len(m.meta["end_sites"]) == ends
    assert m.meta["n_channels"] == channels
    assert all(p < j for j, p in enumerate(m.parents)) and np.isfinite(m.positions).all()
    if declared == m.n_frames:
        assert warned == [] and m.meta["warnings"] == []
    else:  # Boxing_Toes: one frame more than it declares, as the published file
        assert m.meta["warnings"] == [
            f"extra frames: header declares {declared} frames, file has {m.n_frames} complete frames,"
            f" kept all {m.n_frames}"
        ]
        assert warned == [f"{REAL / name}: {m.meta['warnings'][0]}"]


@pytest.mark.parametrize("name", NAMES)
def test_real_file_positions_match_independent_fk(name):
    m, _ = _read(REAL / name)
    names, ref = peer_positions(REAL / name)
    ns = m.meta.get("namespace", "")
    assert m.joint_names == [n.removeprefix(ns) for n in names]
    scale = float(np.abs(ref).max())
    np.testing.assert_allclose(m.positions, ref, rtol=0, atol=2e-6 * scale)
    # and the body is a body: a few frames apart it has moved, and it spans a plausible height
    assert float(np.abs(m.positions[-1] - m.positions[0]).max()) > 1e-3 * scale
    assert 1.2 < m.meta["height_m"] < 2.1


# ----------------------------------------------------------------------------------------- quirks


def _lf(name: str) -> tuple[str, str]:
    """(text with LF line endings, the file's own line ending)."""
    raw = (REAL / name).read_bytes().decode("ascii")
    eol = "\r\n" if "\r\n" in raw else "\n"
    return raw.replace("\r\n", "\n"), eol


def _number_tokens(line: str, fmt) -> str:
    return re.sub(r"(?<!\S)[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?!\S)", lambda t: fmt(t.group(0)), line)


def _sci(text: str) -> str:
    """Every OFFSET number, the Frame Time and every motion value in scientific notation (same doubles)."""
    lines = text.split("\n")
    in_data = False
    for k, ln in enumerate(lines):
        up = ln.strip().upper()
        e = "E" if k % 2 else "e"

        def fmt(tok, e=e):
            return np.format_float_scientific(float(tok), unique=True).replace("e", e)

        if in_data or up.startswith("OFFSET"):
            lines[k] = _number_tokens(ln, fmt)
        elif up.startswith("FRAME TIME"):
            lines[k] = _number_tokens(ln, fmt)
            in_data = True
    return "\n".join(lines)


def _channels_case(text: str) -> str:
    count = iter(range(10_000))

    def recase(m):
        names = m.group(2).split()
        k = next(count)
        names = [c.lower() if k % 3 == 0 else c.upper() if k % 3 == 1 else c.swapcase() for c in names]
        return m.group(1) + " ".join(names)

    return re.sub(r"(CHANNELS\s+\d+\s+)([^\n]*?)[ \t]*$", recase, text, flags=re.M)


def _keywords_lower(text: str) -> str:
    return re.sub(
        r"^([ \t]*)(HIERARCHY|ROOT|JOINT|OFFSET|CHANNELS|End Site|MOTION|Frames:|Frame Time:)",
        lambda m: m.group(1) + m.group(2).lower(),
        text,
        flags=re.M,
    )


def _six_channels(text: str) -> str:
    """Position channels on every joint that has none, with the joint's OFFSET (verbatim) as values."""
    lines = text.split("\n")
    groups: list[tuple[int, list[str] | None]] = []
    offset: list[str] = []
    k = 0
    while lines[k].strip().upper() != "MOTION":
        tok = lines[k].split()
        if tok and tok[0].upper() == "OFFSET":
            offset = tok[1:4]
        elif tok and tok[0].upper() == "CHANNELS":
            n, chans = int(tok[1]), tok[2:]
            if any(c.lower().endswith("position") for c in chans):
                groups.append((n, None))
            else:
                indent = lines[k][: len(lines[k]) - len(lines[k].lstrip())]
                lines[k] = f"{indent}CHANNELS {n + 3} Xposition Yposition Zposition {' '.join(chans)}"
                groups.append((n, offset))
        k += 1
    while not lines[k].strip().upper().startswith("FRAME TIME"):
        k += 1
    for r in range(k + 1, len(lines)):
        vals = lines[r].split()
        if not vals:
            continue
        new, col = [], 0
        for n, ins in groups:
            new += (ins or []) + vals[col : col + n]
            col += n
        lines[r] = " ".join(new)
    return "\n".join(lines)


def _blank_lines_in_motion(text: str) -> str:
    """Blank lines after MOTION, between Frames: and Frame Time:, and after every third frame line."""
    head, sep, rest = text.partition("Frame Time:")
    time_line, _, data = rest.partition("\n")
    lines = data.split("\n")
    out = [x for k, ln in enumerate(lines) for x in ([ln, ""] if k % 3 == 0 else [ln])]
    return head.replace("MOTION\n", "MOTION\n \n") + "\n" + sep + time_line + "\n\n" + "\n".join(out)


def _after_frame_time(data: bytes) -> bytes:
    return data[data.lower().index(b"frame time") :]


# quirk: (text with LF -> text with LF, line ending to use (None: the file's own), evidence on the bytes)
QUIRKS = {
    "eol_lf": (lambda t: t, "\n", lambda d, eol: b"\r" not in d),
    "eol_crlf": (lambda t: t, "\r\n", lambda d, eol: d.count(b"\r\n") == d.count(b"\n") > 100),
    "eol_cr": (lambda t: t, "\r", lambda d, eol: b"\n" not in d and d.count(b"\r") > 100),
    "tabs_everywhere": (
        lambda t: re.sub(r"[ \t]+", "\t", t),
        None,
        lambda d, eol: b" " not in d and b"Frames:\t" in d and b"Frame\tTime:\t" in d and b"OFFSET\t" in d,
    ),
    "runs_of_blanks": (
        lambda t: re.sub(r"[ \t]+", " \t  ", t),
        None,
        lambda d, eol: b"Frames: \t  " in d and b"Frame \t  Time: \t  " in d,
    ),
    "trailing_blanks": (lambda t: t.replace("\n", " \t \n"), None, lambda d, eol: d.endswith(b" \t " + eol)),
    "blank_lines_everywhere": (
        lambda t: "\n \n" + t.replace("\n", "\n\t \n") + "\n\n",
        None,
        lambda d, eol: d.startswith(eol + b" " + eol) and (eol + b"\t " + eol) in _after_frame_time(d),
    ),
    "blank_lines_in_motion": (
        _blank_lines_in_motion,
        None,
        lambda d, eol: (eol * 2) in _after_frame_time(d)[200:-20],
    ),
    "no_final_newline": (lambda t: t.rstrip("\n \t\r"), None, lambda d, eol: not d[-1:].isspace()),
    "scientific_notation": (
        _sci,
        None,
        lambda d, eol: (
            re.search(rb"OFFSET\s+-?\d(\.\d+)?[eE][-+]\d\d\s", d) and b"E+0" in _after_frame_time(d)
        ),
    ),
    "channel_names_case": (
        _channels_case,
        None,
        lambda d, eol: b"zrotation" in d and b"ZROTATION" in d and b"zROTATION" in d,
    ),
    "keywords_lowercase": (
        _keywords_lower,
        None,
        lambda d, eol: d.startswith(b"hierarchy") and b"frame time:" in d and b"MOTION" not in d,
    ),
    "six_channels_on_every_joint": (
        _six_channels,
        None,
        lambda d, eol: d.count(b"CHANNELS 3 ") == 0 and d.count(b"CHANNELS 6 ") > 10,
    ),
}


@pytest.mark.parametrize("quirk", sorted(QUIRKS) + ["utf8_bom", "utf16_bom"])
@pytest.mark.parametrize("name", NAMES)
def test_quirk_variant_reads_as_the_original(tmp_path, name, quirk):
    clean, _ = _read(REAL / name)
    text, eol = _lf(name)
    if quirk in QUIRKS:
        fn, forced_eol, evidence = QUIRKS[quirk]
        data = fn(text).replace("\n", forced_eol or eol).encode("ascii")
        assert evidence(data, (forced_eol or eol).encode()), "the variant does not carry its quirk"
    elif quirk == "utf8_bom":
        data = b"\xef\xbb\xbf" + text.replace("\n", eol).encode("ascii")
    else:
        data = text.replace("\n", eol).encode("utf-16")
        assert data[:2] in (b"\xff\xfe", b"\xfe\xff")
    p = tmp_path / name
    p.write_bytes(data)
    m, _ = _read(p)
    assert m.joint_names == clean.joint_names and m.parents == clean.parents and m.fps == clean.fps
    assert m.meta["warnings"] == clean.meta["warnings"]
    np.testing.assert_array_equal(m.positions, clean.positions)


@pytest.mark.parametrize("name", NAMES)
def test_no_end_sites(tmp_path, name):
    clean, _ = _read(REAL / name)
    text, eol = _lf(name)
    stripped = re.sub(r"\n[ \t]*End[ \t]+Site[ \t]*\n[ \t]*\{[^{}]*\}", "", text)
    assert "End Site" not in stripped
    p = tmp_path / name
    p.write_text(stripped.replace("\n", eol), newline="")
    m, _ = _read(p)
    keep = [j for j in range(clean.n_joints) if j not in set(clean.meta["end_sites"])]
    assert m.joint_names == [clean.joint_names[j] for j in keep] and m.meta["end_sites"] == []
    np.testing.assert_array_equal(m.positions, clean.positions[:, keep])


@pytest.mark.parametrize("name", NAMES)
def test_names_with_spaces_as_3ds_max_biped_writes_them(tmp_path, name):
    """``JOINT Bip01 L Thigh``: a name runs to the brace, spaces and all (also with the brace on the line)."""
    clean, _ = _read(REAL / name)
    text, eol = _lf(name)
    spaced = re.sub(r"^([ \t]*(?:ROOT|JOINT)[ \t]+)([^\s:]+:)?(\S+)", r"\1\2Bip01 \3", text, flags=re.M)
    spaced = re.sub(r"^([ \t]*JOINT[ \t]+.+?)[ \t]*\n[ \t]*\{", r"\1 {", spaced, count=3, flags=re.M)
    assert spaced.count("Bip01 ") == clean.n_joints - len(clean.meta["end_sites"])
    p = tmp_path / name
    p.write_text(spaced.replace("\n", eol), newline="")
    m, _ = _read(p)
    assert m.joint_names == [f"Bip01 {n}" for n in clean.joint_names]  # End Sites follow their parent
    assert m.parents == clean.parents
    np.testing.assert_array_equal(m.positions, clean.positions)


def test_joint_without_a_name_is_a_read_error(tmp_path):
    text, _ = _lf(NAMES[0])
    p = tmp_path / "noname.bvh"
    p.write_text(re.sub(r"^([ \t]*JOINT)[ \t]+\S+", r"\1", text, count=1, flags=re.M))
    with pytest.raises(ReadError, match="JOINT without a name"):
        read_motion(p)


def _zero_channels(text: str, drop_line: bool) -> tuple[str, str]:
    """(variant: the first non-root 3-channel joint has no channels; the same file with its columns 0)."""
    lines = text.split("\n")
    col, target = 0, None
    for k, ln in enumerate(lines):
        tok = ln.split()
        if tok and tok[0].upper() == "CHANNELS":
            n = int(tok[1])
            if target is None and n == 3 and col > 0:
                target = (k, col)
            col += n
        if tok and tok[0].upper() == "MOTION":
            break
    k, c0 = target
    zeroed, variant = list(lines), list(lines)
    if drop_line:
        del variant[k]
    else:
        variant[k] = re.sub(r"CHANNELS\s+3.*", "CHANNELS 0", variant[k])
    start = next(i for i, ln in enumerate(lines) if ln.strip().upper().startswith("FRAME TIME")) + 1
    shift = -1 if drop_line else 0
    for r in range(start, len(lines)):
        vals = lines[r].split()
        if vals:
            zeroed[r] = " ".join(vals[:c0] + ["0", "0", "0"] + vals[c0 + 3 :])
            variant[r + shift] = " ".join(vals[:c0] + vals[c0 + 3 :])
    return "\n".join(variant), "\n".join(zeroed)


@pytest.mark.parametrize("drop_line", [False, True], ids=["CHANNELS_0", "no_CHANNELS_line"])
@pytest.mark.parametrize("name", NAMES)
def test_joint_with_zero_channels(tmp_path, name, drop_line):
    text, _ = _lf(name)
    variant, zeroed = _zero_channels(text, drop_line)
    (tmp_path / "v.bvh").write_text(variant)
    (tmp_path / "z.bvh").write_text(zeroed)
    m, _ = _read(tmp_path / "v.bvh")
    ref, _ = _read(tmp_path / "z.bvh")
    assert m.meta["n_channels"] == ref.meta["n_channels"] - 3
    np.testing.assert_array_equal(m.positions, ref.positions)
    _, peer = peer_positions(tmp_path / "z.bvh")
    np.testing.assert_allclose(m.positions, peer, rtol=0, atol=2e-6 * float(np.abs(peer).max()))


# ---------------------------------------------------------------------------- frame-count policy


def _with_frames(name: str, declared: int | None = None, edit=None) -> tuple[str, list[str], int]:
    """(text, its lines, index of the first frame line) with ``Frames:`` set and the frame lines edited."""
    text, _ = _lf(name)
    if declared is not None:
        text = re.sub(r"(Frames:[ \t]*)\d+", rf"\g<1>{declared}", text)
    lines = text.split("\n")
    first = next(i for i, ln in enumerate(lines) if ln.strip().upper().startswith("FRAME TIME")) + 1
    if edit:
        edit(lines, first)
    return "\n".join(lines), lines, first


def _frame_lines(lines: list[str], first: int) -> list[int]:
    return [i for i in range(first, len(lines)) if lines[i].strip()]


@pytest.mark.parametrize("name", ["cmu_cgspeed_01_01.bvh", "mocapbank_walk.bvh"])
def test_fewer_frames_than_declared_is_a_problem_frames_kept_when_lenient(tmp_path, name):
    clean, _ = _read(REAL / name)
    text, _, _ = _with_frames(name, declared=clean.n_frames + 10)
    p = tmp_path / name
    p.write_text(text)
    why = (
        f"truncated: header declares {clean.n_frames + 10} frames, file has {clean.n_frames} complete frames"
    )
    with pytest.raises(ReadError) as err:
        read_motion(p)
    assert str(err.value) == f"{p}: {why}"
    m, warned = _read(p, strict=False)
    assert m.meta["problems"][0] == why and m.meta["warnings"] == [] and warned == []
    np.testing.assert_array_equal(m.positions, clean.positions)


@pytest.mark.parametrize("name", ["cmu_cgspeed_01_01.bvh", "blender_metarig.bvh"])
def test_declared_fewer_frames_than_present_keeps_all_with_a_warning(tmp_path, name):
    clean, _ = _read(REAL / name)
    text, _, _ = _with_frames(name, declared=clean.n_frames - 7)
    (tmp_path / name).write_text(text)
    m, warned = _read(tmp_path / name)
    assert m.meta["warnings"] == [
        f"extra frames: header declares {clean.n_frames - 7} frames, file has {clean.n_frames} complete"
        f" frames, kept all {clean.n_frames}"
    ]
    assert len(warned) == 1
    np.testing.assert_array_equal(m.positions, clean.positions)


@pytest.mark.parametrize("name", NAMES)
def test_trailing_partial_frame_is_a_truncation(tmp_path, name):
    clean, _ = _read(REAL / name)

    def cut_last(lines, first):
        last = _frame_lines(lines, first)[-1]
        vals = lines[last].split()
        lines[last] = " ".join(vals[: len(vals) // 2])

    text, _, _ = _with_frames(name, declared=clean.n_frames, edit=cut_last)
    p = tmp_path / name
    p.write_text(text)
    c = clean.meta["n_channels"]
    why = (
        f"truncated: header declares {clean.n_frames} frames, file has {clean.n_frames - 1} complete frames"
        f" plus a partial last line ({c // 2} of {c} values)"
    )
    with pytest.raises(ReadError) as err:
        read_motion(p)
    assert str(err.value) == f"{p}: {why}"
    m, _ = _read(p, strict=False)
    assert m.meta["read_problems"] == [why]
    np.testing.assert_array_equal(m.positions, clean.positions[:-1])


def test_extra_frames_plus_a_partial_line_is_a_warning(tmp_path):
    name = "blender_metarig.bvh"
    clean, _ = _read(REAL / name)
    text, _ = _lf(name)
    text = re.sub(r"Frames: \d+", "Frames: 25", text).rstrip("\n") + "\n0.5 0.25\n"
    (tmp_path / name).write_text(text)
    m, warned = _read(tmp_path / name)
    why = (
        "extra frames: header declares 25 frames, file has 30 complete frames"
        " plus a partial last line (2 of 111 values, dropped), kept all 30"
    )
    assert m.meta["warnings"] == [why] and warned == [f"{tmp_path / name}: {why}"]
    np.testing.assert_array_equal(m.positions, clean.positions)


def test_partial_line_after_all_declared_frames(tmp_path):
    name = "mocapbank_walk.bvh"
    clean, _ = _read(REAL / name)
    text, eol = _lf(name)
    (tmp_path / name).write_text(text.rstrip("\n") + "\n1.0 2.0 3.0\n")
    m, _ = _read(tmp_path / name)
    assert m.meta["warnings"] == [
        f"the {clean.n_frames} declared frames are followed by a partial last line (3 of 60 values, dropped)"
    ]
    np.testing.assert_array_equal(m.positions, clean.positions)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("delta", [-1, +1])
def test_wrong_value_count_inside_the_data_is_a_read_error(tmp_path, name, delta):
    def edit(lines, first):
        row = _frame_lines(lines, first)[4]
        vals = lines[row].split()
        lines[row] = " ".join(vals[:-1] if delta < 0 else vals + ["0.5"])

    text, lines, first = _with_frames(name, edit=edit)
    line_no = _frame_lines(lines, first)[4] + 1  # 1-based line in the file
    c = ENTRIES[name]["channels"]
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ReadError) as err:
        read_motion(p)
    found = c + delta
    assert (
        str(err.value)
        == f"{p}: frame 5 (line {line_no}) has {found} values but the hierarchy declares {c} channels"
    )


def test_too_many_values_on_the_last_line_is_a_read_error(tmp_path):
    name = "cmu_cgspeed_01_01.bvh"

    def edit(lines, first):
        last = _frame_lines(lines, first)[-1]
        lines[last] += " 1.0"

    text, lines, first = _with_frames(name, edit=edit)
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ReadError, match=r"frame 30 \(line \d+\) has 97 values but the hierarchy declares 96"):
        read_motion(p)


def test_non_numeric_value_names_frame_and_line(tmp_path):
    name = "mocapbank_walk.bvh"

    def edit(lines, first):
        row = _frame_lines(lines, first)[2]
        vals = lines[row].split()
        vals[1] = "1.#QNAN"  # what MSVC-built exporters print for NaN
        lines[row] = " ".join(vals)

    text, lines, first = _with_frames(name, edit=edit)
    line_no = _frame_lines(lines, first)[2] + 1
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ReadError) as err:
        read_motion(p)
    assert str(err.value) == f"{p}: non-numeric value '1.#QNAN' in motion data (frame 3, line {line_no})"


@pytest.mark.parametrize("name", NAMES)
def test_chunked_parse_and_fk_give_the_same_positions(monkeypatch, name):
    """Long takes are parsed and put through FK a chunk at a time; chunk edges must not show."""
    import skellm.readers.bvh as bvh_mod

    whole, _ = _read(REAL / name)
    monkeypatch.setattr(bvh_mod, "PARSE_CHUNK_LINES", 7)
    monkeypatch.setattr(bvh_mod, "FK_CHUNK_FRAMES", 4)
    chunked, _ = _read(REAL / name)
    np.testing.assert_array_equal(chunked.positions, whole.positions)
    assert chunked.meta["warnings"] == whole.meta["warnings"]


@pytest.mark.parametrize("name", NAMES)
def test_fast_and_line_by_line_paths_agree(monkeypatch, name):
    """Plainly written MOTION blocks go through Arrow's CSV parser; the line-by-line path must give the
    same frames, warnings and problems (it is the one that reads every other layout)."""
    import skellm.readers.bvh as bvh_mod

    fast, _ = _read(REAL / name)
    monkeypatch.setattr(bvh_mod, "_fast_frames", lambda body, n: None)
    slow, _ = _read(REAL / name)
    np.testing.assert_array_equal(fast.positions, slow.positions)
    assert (
        fast.meta["warnings"] == slow.meta["warnings"]
        and fast.meta["read_problems"] == slow.meta["read_problems"]
    )


def test_fast_path_serves_plain_real_files():
    import skellm.readers.bvh as bvh_mod

    text = (REAL / "cmu_cgspeed_01_01.bvh").read_text()
    body = text.split("Frame Time:", 1)[1].split("\n", 1)[1]
    data = bvh_mod._fast_frames(body, ENTRIES["cmu_cgspeed_01_01.bvh"]["channels"])
    assert data is not None and data.shape == (30, 96)
    np.testing.assert_array_equal(data, np.array(body.split(), dtype=np.float64).reshape(30, 96))
    np.testing.assert_array_equal(bvh_mod._fast_frames(body.replace(" ", "\t"), 96), data)  # respaced
    assert bvh_mod._fast_frames(body.rsplit(" ", 5)[0], 96) is None  # a partial last line


def _motion_body(text: str) -> str:
    """The MOTION lines after ``Frame Time:`` as the reader cuts them."""
    import skellm.readers.bvh as bvh_mod

    m = re.search(r"^\s*MOTION\s*$", text, re.M | re.I)
    return text[bvh_mod._FRAMES_RE.match(text, m.end()).end() :]


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


WHITESPACE_QUIRKS = [
    "tabs_everywhere",
    "runs_of_blanks",
    "trailing_blanks",
    "blank_lines_everywhere",
    "blank_lines_in_motion",
]


@pytest.mark.parametrize("quirk", [None, *WHITESPACE_QUIRKS])
@pytest.mark.parametrize("name", NAMES)
def test_fast_path_serves_tabs_and_runs_of_blanks_bit_for_bit(monkeypatch, tmp_path, name, quirk):
    """Tabs, runs of blanks (Biovision's own layout, read in place) and blanks at line ends go through
    Arrow too; the floats must be the line path's to the bit and the file must read the same either way."""
    import skellm.readers.bvh as bvh_mod

    text, _ = _lf(name)
    if quirk:
        text = QUIRKS[quirk][0](text)
    body = _motion_body(text)
    c = ENTRIES[name]["channels"]
    fast = bvh_mod._fast_frames(body, c)
    assert fast is not None, "the fast path turned the layout down"
    slow, _, _ = bvh_mod._parse_frames(Path(name), body.split("\n"), c, 0, 1)
    np.testing.assert_array_equal(_bits(fast), _bits(slow))
    p = tmp_path / name
    p.write_text(text)
    via_fast, _ = _read(p)
    monkeypatch.setattr(bvh_mod, "_fast_frames", lambda body, n: None)
    via_lines, _ = _read(p)
    np.testing.assert_array_equal(via_fast.positions, via_lines.positions)
    assert via_fast.meta["warnings"] == via_lines.meta["warnings"]


def test_fast_path_respaces_a_layout_that_changes_further_down():
    """Lines are first read in the first line's layout; where a later line departs from it, the whole
    block is respaced and read again."""
    import skellm.readers.bvh as bvh_mod

    rows = np.random.default_rng(3).uniform(-200, 200, (3000, 12)).round(4)
    lines = [" ".join(repr(float(v)) for v in r) for r in rows]
    lines[2000:] = ["\t" + "   ".join(ln.split()) + " \t" for ln in lines[2000:]]
    assert bvh_mod._arrow_columns("\n".join(lines).encode(), 12) is None
    data = bvh_mod._fast_frames("\n".join(lines) + "\n", 12)
    assert data is not None
    np.testing.assert_array_equal(_bits(data), _bits(rows))


def test_respacing_block_by_block_matches_respacing_at_once(monkeypatch):
    """Long takes are respaced in blocks of whole lines; the block edges must not show."""
    import skellm.readers.bvh as bvh_mod

    raw = QUIRKS["runs_of_blanks"][0](_motion_body(_lf("biovision_boxing_toes.bvh")[0])).encode()
    whole = bvh_mod._single_spaced(raw)
    assert whole == b"\n".join(b" ".join(ln.split()) for ln in raw.split(b"\n"))
    monkeypatch.setattr(bvh_mod, "RESPACE_BLOCK_BYTES", 100)
    assert bvh_mod._single_spaced(raw) == whole


@pytest.mark.parametrize("respace", [None, "tabs_everywhere", "runs_of_blanks"])
@pytest.mark.parametrize("name", ["biovision_boxing_toes.bvh", "cmu_cgspeed_01_01.bvh"])
def test_ragged_lines_with_the_right_total_are_still_a_read_error(tmp_path, name, respace):
    """Frame 3 one value short, frame 4 one over: the block's count is frames x channels, yet the frame
    is named as before, whichever blanks separate the numbers."""
    import skellm.readers.bvh as bvh_mod

    def edit(lines, first):
        a, b = _frame_lines(lines, first)[2:4]
        lines[a] = " ".join(lines[a].split()[:-1])
        lines[b] = " ".join([*lines[b].split(), "0.5"])

    text, lines, first = _with_frames(ENTRIES[name]["file"], edit=edit)
    if respace:
        text = QUIRKS[respace][0](text)
    c = ENTRIES[name]["channels"]
    assert bvh_mod._fast_frames(_motion_body(text), c) is None
    line_no = _frame_lines(lines, first)[2] + 1
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ReadError) as err:
        read_motion(p)
    assert (
        str(err.value)
        == f"{p}: frame 3 (line {line_no}) has {c - 1} values but the hierarchy declares {c} channels"
    )


@pytest.mark.parametrize("token", ["7", "NA", "nan"])
def test_a_number_inside_a_run_of_blanks_is_not_read_past(tmp_path, token):
    """Biovision's lines share their runs of blanks, read in place as empty columns: a token put inside
    one (the line's field count unchanged) makes that line c + 1 values, it does not vanish."""
    name = "biovision_boxing_toes.bvh"

    def edit(lines, first):
        row = _frame_lines(lines, first)[2]
        assert "    " in lines[row]
        lines[row] = lines[row].replace("    ", f"  {token}  ", 1)

    text, lines, first = _with_frames(name, edit=edit)
    c = ENTRIES[name]["channels"]
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ReadError) as err:
        read_motion(p)
    line_no = _frame_lines(lines, first)[2] + 1
    assert (
        str(err.value)
        == f"{p}: frame 3 (line {line_no}) has {c + 1} values but the hierarchy declares {c} channels"
    )
