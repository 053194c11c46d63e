"""The synthetic corpora's bytes are pinned: the same seed gives the same files on every machine.

Writers print through :func:`skellm.readers.base.quantize` (round, then make zeros positive), so CPU
differences in the last bit of sin/cos/exp do not reach the files. If this checksum changes, the
generator changed: update the pin in the same commit and say why.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from skellm.readers.base import quantize
from skellm.synth.corpora import generate

# sha256 over (relative path, bytes) of every file of generate(size=SMALL, seed=0).
SMALL = {"A": 4, "B": 3, "C": 3}
PINNED = "0685b5c5622c5a2bf2b7b3dfd27ff621fe97a14994f1d646969e5df01a74ce8a"
# The same for corpus D (NTU .skeleton files, annotations.csv, knowledge.csv): two performances.
SMALL_D = {"D": 6}
PINNED_D = "e6846129d28a3cdd005e53aa28a5b89b9c5c387a3cd3ef9de7413dc5db178a34"


def corpus_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(q for q in root.rglob("*") if q.is_file()):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def test_quantize_removes_signed_zeros_and_last_bit_noise() -> None:
    x = np.array([-4e-7, -0.0, 1.2345674999999, 1.2345675000001, 0.1 + 0.2])
    q = quantize(x, 6)
    assert [f"{v:.6f}" for v in q] == ["0.000000", "0.000000", "1.234567", "1.234568", "0.300000"]
    assert not np.signbit(q[:2]).any()
    # one ulp either side of a value prints the same after quantising
    v = np.float64(0.7310585786300049)
    assert f"{quantize(np.nextafter(v, 0), 6)[()]:.6f}" == f"{quantize(np.nextafter(v, 1), 6)[()]:.6f}"


def test_small_corpus_bytes_are_pinned(tmp_path: Path) -> None:
    generate(tmp_path, size=SMALL, seed=0, workers=1, progress=False)
    text = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert b"-0.000000" not in text and b" -0.00000 " not in text
    assert corpus_digest(tmp_path) == PINNED


@pytest.mark.parametrize("workers", [1, 2])
def test_small_ntu_corpus_bytes_are_pinned(tmp_path: Path, workers: int) -> None:
    generate(tmp_path, size=SMALL_D, seed=0, workers=workers, progress=False)
    assert {p.parent.name for p in tmp_path.rglob("*") if p.is_file()} == {"D"}
    assert b" -0 " not in b"".join(p.read_bytes() for p in (tmp_path / "D").glob("*.skeleton"))
    assert corpus_digest(tmp_path) == PINNED_D
