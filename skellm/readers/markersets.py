"""Joint centres from the marker sets biomechanics labs use, so C3D takes reach the canonical skeleton.

For each canonical joint the first source present wins:

1. Vicon's segment outputs (Plug-in Gait / Human Body Model "bones", written as points): the femur's
   proximal point ``LFEP`` is the hip joint centre and its origin ``LFEO`` the knee's, the tibia origin
   ``LTIO`` the ankle's, the foot origin ``LFOO`` the toe end of the foot, ``PELO`` the mid-hip point;
   ``HEDO`` head, ``LHUP``/``LHUO``/``LRAO`` shoulder, elbow and wrist.
2. Plug-in Gait / Conventional Gait Model markers: hip joint centres by the Harrington et al. (2007)
   regression on ASIS/PSIS (pelvis width and depth, mm), knee and ankle centres as the midpoint of the
   epicondyle / malleolus pair, else Plug-in Gait's chord function on the thigh / tibia wand (``LTHI``,
   ``LTIB``): the centre lies half the measured knee or ankle width (``PROCESSING:LKneeWidth``...) plus
   a 7 mm marker radius from the lateral marker, in the wand's plane, square to the segment; else the
   lateral marker moved medially by that distance along the pelvis axis; toe ``LTOE``; trunk from C7,
   CLAV, T10, STRN; head the mean of the four head markers; shoulder, elbow and wrist from LSHO, LELB
   and the wrist-bar midpoint.

Joint centres are returned in the file's units; a joint no source covers is listed as missing (a
lower-body marker set has no arms or head: that is said, not guessed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

MARKER_RADIUS_MM = 7.0
JC_PREFIX = "jc:"  # joint centres are stored beside the markers as points named jc:<canonical joint>

_SYN = {  # one anatomical marker, the names marker sets give it
    "LASI": ("LASI", "LASIS", "L_ASIS", "LIAS"),
    "RASI": ("RASI", "RASIS", "R_ASIS", "RIAS"),
    "LPSI": ("LPSI", "LPSIS", "L_PSIS", "LIPS"),
    "RPSI": ("RPSI", "RPSIS", "R_PSIS", "RIPS"),
    "SACR": ("SACR", "SACRUM"),
    "LKNE": ("LKNE", "LLEK", "LKNL", "LFLE"),
    "RKNE": ("RKNE", "RLEK", "RKNL", "RFLE"),
    "LKNM": ("LKNM", "LMEK", "LFME"),
    "RKNM": ("RKNM", "RMEK", "RFME"),
    "LANK": ("LANK", "LLM", "LLMAL", "LFAL"),
    "RANK": ("RANK", "RLM", "RLMAL", "RFAL"),
    "LMED": ("LMED", "LMM", "LANM", "LMMAL", "LTAM"),
    "RMED": ("RMED", "RMM", "RANM", "RMMAL", "RTAM"),
    "LTOE": ("LTOE", "LMT2", "LFM2"),
    "RTOE": ("RTOE", "RMT2", "RFM2"),
    "C7": ("C7", "CV7"),
    "T10": ("T10", "TV10"),
    "CLAV": ("CLAV", "JN", "IJ", "SJN"),
    "STRN": ("STRN", "XIPH", "PX", "SXS"),
    "LSHO": ("LSHO", "LACR", "LAC"),
    "RSHO": ("RSHO", "RACR", "RAC"),
    "LELB": ("LELB", "LHLE", "LEL"),
    "RELB": ("RELB", "RHLE", "REL"),
    "LWRA": ("LWRA", "LRSP", "LWRR"),
    "LWRB": ("LWRB", "LUSP", "LWRU"),
    "RWRA": ("RWRA", "RRSP", "RWRR"),
    "RWRB": ("RWRB", "RUSP", "RWRU"),
    "LFHD": ("LFHD",),
    "RFHD": ("RFHD",),
    "LBHD": ("LBHD",),
    "RBHD": ("RBHD",),
}

# Vicon segment outputs per canonical joint ({s}: L/R).
_SEGMENT = {
    "pelvis": ("PELO",),
    "head": ("HEDO",),
    "{s}_hip": ("{s}FEP",),
    "{s}_knee": ("{s}FEO", "{s}TIP"),
    "{s}_ankle": ("{s}TIO",),
    "{s}_foot": ("{s}FOO",),
    "{s}_shoulder": ("{s}HUP", "{s}CLO"),
    "{s}_elbow": ("{s}HUO", "{s}RAP"),
    "{s}_wrist": ("{s}RAO", "{s}HNP"),
}


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


class _Markers:
    def __init__(self, names: Sequence[str], pos: np.ndarray):
        self.pos = pos
        self.index = {n.strip().upper(): i for i, n in enumerate(names)}

    def name(self, key: str) -> str | None:
        return next((s for s in _SYN.get(key, (key,)) if s in self.index), None)

    def get(self, *keys: str) -> np.ndarray | None:
        """Mean of the markers ``keys`` (each by any of its names), None if one is absent."""
        found = [self.name(k) for k in keys]
        if any(f is None for f in found):
            return None
        return np.mean([self.pos[:, self.index[f]] for f in found if f], axis=0)


def harrington_hjc(lasi: np.ndarray, rasi: np.ndarray, lpsi: np.ndarray, rpsi: np.ndarray, mm: float) -> dict:
    """Left and right hip joint centres (Harrington et al. 2007), positions in units of ``1/mm`` mm.

    Pelvis frame (ISB): origin mid-ASIS, z to the right ASIS, x anterior (from mid-PSIS), y = z x x.
    """
    mid_a, mid_p = (lasi + rasi) / 2, (lpsi + rpsi) / 2
    z = _unit(rasi - lasi)
    x = mid_a - mid_p
    x = _unit(x - (x * z).sum(-1, keepdims=True) * z)
    y = np.cross(z, x)
    pw = np.linalg.norm(rasi - lasi, axis=-1, keepdims=True) * mm
    pd = np.linalg.norm(mid_a - mid_p, axis=-1, keepdims=True) * mm
    base = mid_a + ((-0.24 * pd - 9.9) * x + (-0.30 * pw - 10.9) * y) / mm
    lateral = (0.33 * pw + 7.3) * z / mm
    return {"l_hip": base - lateral, "r_hip": base + lateral}


def chord(
    proximal: np.ndarray, wand: np.ndarray, lateral: np.ndarray, delta: np.ndarray | float
) -> np.ndarray:
    """Plug-in Gait's chord function: the joint centre J at ``delta`` from the ``lateral`` marker, in the
    plane of ``proximal`` (the joint centre above), ``wand`` and ``lateral``, with a right angle at J
    between proximal and lateral; J lies across the proximal-lateral line from the (lateral) wand."""
    u = proximal - lateral
    d = np.linalg.norm(u, axis=-1, keepdims=True)
    u = u / np.where(d > 0, d, 1.0)
    w = wand - lateral
    away = _unit(-(w - (w * u).sum(-1, keepdims=True) * u))  # in the plane, square to u, off the wand
    cos = np.clip(delta / np.where(d > 0, d, np.inf), 0.0, 1.0)
    return lateral + delta * (cos * u + np.sqrt(1.0 - cos**2) * away)


def joint_centres(
    names: Sequence[str], pos: np.ndarray, mm_per_unit: float, widths_mm: Mapping[str, float] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Canonical joint centres (T, 3) of a marker take, and for each how it was found.

    ``pos`` (T, M, 3) in file units, ``mm_per_unit`` converts them to mm (the regression constants are
    in mm); ``widths_mm`` holds the subject's ``LKneeWidth``/``RAnkleWidth``... where the file has them.
    """
    m = _Markers(names, pos)
    widths = dict(widths_mm or {})
    out: dict[str, np.ndarray] = {}
    how: dict[str, str] = {}

    def put(joint: str, value: np.ndarray | None, why: str) -> None:
        if joint not in out and value is not None:
            out[joint], how[joint] = value, why

    for joint, labels in _SEGMENT.items():
        for side in ("L", "R") if "{s}" in joint else ("",):
            canon = joint.format(s=side.lower())
            for label in labels:
                lab = label.format(s=side)
                if lab in m.index:
                    put(canon, pos[:, m.index[lab]], f"Vicon segment output {lab}")
    psis = [m.get("LPSI"), m.get("RPSI")]
    if psis[0] is None or psis[1] is None:
        psis = [m.get("SACR")] * 2
    lasi, rasi = m.get("LASI"), m.get("RASI")
    if lasi is not None and rasi is not None and psis[0] is not None and psis[1] is not None:
        hjc = harrington_hjc(lasi, rasi, psis[0], psis[1], mm_per_unit)
        for canon, v in hjc.items():
            put(canon, v, "Harrington 2007 regression on ASIS/PSIS")
        right = _unit(rasi - lasi)
    else:
        right = None
    if "l_hip" in out and "r_hip" in out:
        put("pelvis", (out["l_hip"] + out["r_hip"]) / 2, "midpoint of the hip joint centres")
    for s in ("L", "R"):
        c = s.lower()
        medial = None if right is None else (right if s == "L" else -right)
        for joint, lat, med, width in (
            ("knee", "KNE", "KNM", "KneeWidth"),
            ("ankle", "ANK", "MED", "AnkleWidth"),
        ):
            put(
                f"{c}_{joint}",
                m.get(s + lat, s + med),
                f"midpoint of {m.name(s + lat)} and {m.name(s + med)}",
            )
            w = widths.get(f"{s}{width}")
            lateral = m.get(s + lat)
            wand = m.get(s + ("THI" if joint == "knee" else "TIB"))
            above = out.get(f"{c}_{'hip' if joint == 'knee' else 'knee'}")
            if lateral is not None and w and w > 0 and wand is not None and above is not None:
                put(
                    f"{c}_{joint}",
                    chord(above, wand, lateral, (w / 2 + MARKER_RADIUS_MM) / mm_per_unit),
                    f"Plug-in Gait chord function on {m.name(s + lat)}, {s}{width}/2 + 7 mm",
                )
            if lateral is not None and medial is not None and w and w > 0:
                shift = (w / 2 + MARKER_RADIUS_MM) / mm_per_unit
                put(
                    f"{c}_{joint}",
                    lateral + medial * shift,
                    f"{m.name(s + lat)} moved medially by {s}{width}/2 + 7 mm",
                )
        put(f"{c}_foot", m.get(s + "TOE"), f"marker {m.name(s + 'TOE')}")
        put(f"{c}_shoulder", m.get(s + "SHO"), f"marker {m.name(s + 'SHO')} (acromion)")
        put(f"{c}_elbow", m.get(s + "ELB"), f"marker {m.name(s + 'ELB')} (lateral epicondyle)")
        put(f"{c}_wrist", m.get(s + "WRA", s + "WRB"), "midpoint of the wrist bar markers")
    put("neck", m.get("C7", "CLAV"), "midpoint of C7 and the jugular notch")
    put("chest", m.get("C7", "CLAV", "T10", "STRN"), "mean of C7, jugular notch, T10 and sternum")
    trunk_low = m.get("T10", "STRN")
    if trunk_low is not None and "pelvis" in out:
        put("spine", (out["pelvis"] + trunk_low) / 2, "midway from the pelvis to T10/sternum")
    put("head", m.get("LFHD", "RFHD", "LBHD", "RBHD"), "mean of the four head markers")
    return out, how


def marker_set_name(names: Sequence[str]) -> str:
    """Which known labels a marker take carries and lacks, for messages ("pelvis, leg markers; no arm...")."""
    m = _Markers(names, np.zeros((0, len(names), 3)))
    groups = {
        "Vicon segment outputs": any(f"{s}FEO" in m.index or f"{s}HUO" in m.index for s in "LR"),
        "pelvis markers": m.name("LASI") is not None and m.name("RASI") is not None,
        "leg markers": m.name("LKNE") is not None or m.name("LANK") is not None,
        "trunk markers": m.name("C7") is not None or m.name("CLAV") is not None,
        "arm markers": m.name("LSHO") is not None or m.name("LELB") is not None,
        "head markers": m.name("LFHD") is not None,
    }
    has = [g for g, ok in groups.items() if ok]
    if not has:
        return "an unknown marker set (no Plug-in Gait / CGM / Vicon segment labels)"
    lacks = [g for g, ok in groups.items() if not ok and g != "Vicon segment outputs"]
    return ", ".join(has) + (f"; no {', no '.join(lacks)}" if lacks else "")
