"""Xsens MVNX (MVN Analyze XML export, version 4): reader and writer.

Positions are segment origins in metres, Z up. Calibration frames (``type`` "identity", "tpose",
"tpose-isb") are skipped; only ``type="normal"`` frames are motion. The bone graph comes from the
``<joints>`` connectors (``Pelvis/jL5S1`` -> ``L5/jL5S1``), else from the declared Xsens layout.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from skellm.layouts import XSENS23
from skellm.readers.base import Motion, ReadError, quantize

_NS = "http://www.xsens.com/mvn/mvnx"


def _fmt(arr: np.ndarray) -> str:
    return " ".join(f"{v:.6f}" for v in quantize(arr, 6).ravel())


def write_mvnx(
    path: str | Path,
    segment_names: list[str],
    positions: np.ndarray,
    orientations: np.ndarray | None,
    fps: float,
    subject: str | None = None,
    parents: list[int] | None = None,
) -> None:
    """Write an MVNX 4 file: positions (T, J, 3) metres Z-up, orientations (T, J, 4) wxyz or None.

    ``parents`` gives the bone graph (written as ``<joints>``); by default the Xsens 23-segment graph
    when the names are those segments.
    """
    pos = np.asarray(positions, dtype=np.float64)
    n_frames, n_seg = pos.shape[:2]
    if pos.shape != (n_frames, len(segment_names), 3):
        raise ValueError("write_mvnx: positions must be (T, J, 3) with J = len(segment_names)")
    ori = None if orientations is None else np.asarray(orientations, dtype=np.float64)
    if ori is not None and ori.shape != (n_frames, n_seg, 4):
        raise ValueError("write_mvnx: orientations must be (T, J, 4)")
    if parents is None and tuple(segment_names) == XSENS23.joint_names:
        parents = list(XSENS23.parents)
    label = subject or "subject"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<mvnx version="4" xmlns="{_NS}">',
        '<mvn version="2022.0.0" build="skellm"/>',
        "<comment></comment>",
        f"<subject label={quoteattr(label)} frameRate={quoteattr(f'{fps:g}')} "
        f'segmentCount="{n_seg}" configuration="FullBody" userScenario="noLevel">',
        "<comment></comment>",
        "<segments>",
    ]
    for i, name in enumerate(segment_names):
        out.append(f'<segment label={quoteattr(name)} id="{i + 1}">')
        out.append(f"<points><point label={quoteattr('p' + name)}><pos_b>0 0 0</pos_b></point></points>")
        out.append("</segment>")
    out.append("</segments>")
    if parents is not None:
        out.append("<joints>")
        for j, p in enumerate(parents):
            if p >= 0:
                a, b = segment_names[p], segment_names[j]
                jl = f"j{a}{b}"
                out.append(
                    f"<joint label={quoteattr(jl)}><connector1>{a}/{jl}</connector1>"
                    f"<connector2>{b}/{jl}</connector2></joint>"
                )
        out.append("</joints>")
    out.append(f'<frames segmentCount="{n_seg}" sensorCount="0" jointCount="{max(n_seg - 1, 0)}">')
    ident = np.tile([1.0, 0.0, 0.0, 0.0], n_seg)
    rest = pos[0] if n_frames else np.zeros((n_seg, 3))
    for kind in ("identity", "tpose", "tpose-isb"):
        out.append(f'<frame time="0" type="{kind}">')
        out.append(f"<orientation>{_fmt(ident)}</orientation>")
        out.append(f"<position>{_fmt(rest)}</position>")
        out.append("</frame>")
    for t in range(n_frames):
        ms = round(t * 1000.0 / fps)
        out.append(f'<frame time="{ms}" index="{t}" tc="" ms="{ms}" type="normal">')
        q = ori[t] if ori is not None else ident
        out.append(f"<orientation>{_fmt(q)}</orientation>")
        out.append(f"<position>{_fmt(pos[t])}</position>")
        out.append("</frame>")
    out += ["</frames>", "</subject>", "</mvnx>"]
    from skellm.io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(out) + "\n")


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def read_mvnx(path: str | Path, **_opts) -> Motion:
    """Read an MVNX file into a :class:`Motion` (metres, Z up)."""
    from lxml import etree

    path = Path(path)
    if path.stat().st_size == 0:
        raise ReadError(path, "empty file")
    segments: list[str] = []
    joints: list[tuple[str, str]] = []
    fps: float | None = None
    subject: str | None = None
    pos_frames: list[np.ndarray] = []
    ori_frames: list[np.ndarray] = []
    times: list[float] = []
    root_seen = False
    try:
        for _, el in etree.iterparse(str(path), events=("end",), huge_tree=True, resolve_entities=False):
            tag = _local(el.tag)
            if tag == "segment" and el.get("label") is not None:
                segments.append(el.get("label"))
            elif tag == "joint":
                c = {_local(ch.tag): (ch.text or "").strip() for ch in el}
                if "connector1" in c and "connector2" in c:
                    joints.append((c["connector1"].split("/")[0], c["connector2"].split("/")[0]))
            elif tag == "frame":
                if el.get("type", "normal") == "normal":
                    parts = {_local(ch.tag): ch.text or "" for ch in el}
                    if "position" not in parts:
                        raise ReadError(path, f"frame {len(pos_frames)} has no <position>")
                    pos_frames.append(np.array(parts["position"].split(), dtype=np.float64))
                    if "orientation" in parts:
                        ori_frames.append(np.array(parts["orientation"].split(), dtype=np.float64))
                    times.append(float(el.get("time", "nan")))
                el.clear()
            elif tag == "subject":
                fps = float(el.get("frameRate", "nan"))
                subject = el.get("label")
            elif tag == "mvnx":
                root_seen = True
    except etree.XMLSyntaxError as exc:
        raise ReadError(path, f"corrupt or truncated XML ({exc.msg})") from None
    except ValueError as exc:
        raise ReadError(path, f"non-numeric value in MVNX ({exc})") from None
    if not root_seen:
        raise ReadError(path, "not an MVNX file (no <mvnx> root element)")
    if not segments:
        raise ReadError(path, "MVNX has no <segments>")
    n_seg = len(segments)
    if fps is None or not np.isfinite(fps) or fps <= 0:
        raise ReadError(path, "MVNX subject lacks a positive frameRate")
    for i, f in enumerate(pos_frames):
        if f.size != n_seg * 3:
            raise ReadError(path, f"frame {i} has {f.size} position values, expected {n_seg} x 3")
    positions = np.stack(pos_frames).reshape(-1, n_seg, 3) if pos_frames else np.zeros((0, n_seg, 3))
    orientations = None
    if ori_frames and len(ori_frames) == len(pos_frames) and all(o.size == n_seg * 4 for o in ori_frames):
        orientations = np.stack(ori_frames).reshape(-1, n_seg, 4).astype(np.float32)
    parents = _parents(segments, joints)
    return Motion(
        positions=positions.astype(np.float32),
        joint_names=segments,
        parents=parents,
        fps=fps,
        source_path=str(path),
        fmt="mvnx",
        units="m",
        up_axis="z",
        orientations=orientations,
        meta={"subject": subject} if subject else {},
    )


def _parents(segments: list[str], joints: list[tuple[str, str]]) -> list[int]:
    index = {s: i for i, s in enumerate(segments)}
    parents = [-1] * len(segments)
    for a, b in joints:
        if a in index and b in index:
            parents[index[b]] = index[a]
    if all(p < 0 for p in parents) and tuple(segments) == XSENS23.joint_names:
        parents = list(XSENS23.parents)
    return parents
