"""skellm.vqvae: Poincaré maths, code assignment, losses, dead-code resets, tiny training, save/load.

Reference values are closed forms or hand computations written out in the comments, not the code under
test. Everything is tiny (<= 8 sequences of T=16, J=4) so the file runs in seconds on one thread.
"""

from __future__ import annotations

import math

import pytest
import torch

from skellm.vqvae import poincare as P

pytestmark = pytest.mark.usefixtures("one_thread")

CURVATURES = (1.0, 0.5, 2.0)


def _ball_points(n: int, d: int, c: float, seed: int, scale: float = 0.8) -> torch.Tensor:
    """n float64 points strictly inside the ball of radius 1/sqrt(c), at radius < scale/sqrt(c)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    r = scale * torch.rand(n, 1, generator=g, dtype=torch.float64) / math.sqrt(c)
    return x / x.norm(dim=-1, keepdim=True) * r


# ---------------------------------------------------------------- Poincaré ball


@pytest.mark.parametrize("c", CURVATURES)
def test_dist_from_origin_closed_form(c):
    x = _ball_points(20, 3, c, seed=1)
    ref = [2 / math.sqrt(c) * math.atanh(math.sqrt(c) * math.sqrt(sum(t * t for t in p))) for p in x.tolist()]
    got = P.dist(torch.zeros_like(x), x, c)
    torch.testing.assert_close(got, torch.tensor(ref, dtype=torch.float64), rtol=1e-10, atol=1e-12)


def test_dist_hand_value():
    # c = 1, x = (0.5, 0), y = (-0.5, 0): on a diameter, d = d(0, x) + d(0, y) = 4 artanh(0.5) = 2 ln 3
    x = torch.tensor([0.5, 0.0], dtype=torch.float64)
    assert P.dist(x, -x, 1.0).item() == pytest.approx(2 * math.log(3), rel=1e-12)


@pytest.mark.parametrize("c", CURVATURES)
def test_expmap0_closed_form_and_logmap0_inverse(c):
    g = torch.Generator().manual_seed(2)
    v = torch.randn(10, 4, generator=g, dtype=torch.float64)
    ref = []
    for row in v.tolist():
        n = math.sqrt(sum(t * t for t in row))
        ref.append([math.tanh(math.sqrt(c) * n) * t / (math.sqrt(c) * n) for t in row])
    y = P.expmap0(v, c)
    torch.testing.assert_close(y, torch.tensor(ref, dtype=torch.float64), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(P.logmap0(y, c), v, rtol=1e-9, atol=1e-9)
    # along a ray through 0, d(0, expmap0(v)) = 2 |v| whatever c: (2/sqrt c) artanh(tanh(sqrt(c)|v|))
    torch.testing.assert_close(P.dist(torch.zeros_like(y), y, c), 2 * v.norm(dim=-1), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("c", CURVATURES)
def test_mobius_add_identity_and_hand_value(c):
    x = _ball_points(10, 3, c, seed=3)
    torch.testing.assert_close(P.mobius_add(x, torch.zeros_like(x), c), x)
    torch.testing.assert_close(P.mobius_add(torch.zeros_like(x), x, c), x)
    torch.testing.assert_close(P.mobius_add(-x, x, c), torch.zeros_like(x), atol=1e-12, rtol=0)
    # collinear: x (+) y = (x + y) / (1 + c x y) (relativistic velocity addition); c=1, .5 (+) .5 = .8
    a = torch.tensor([0.5, 0.0], dtype=torch.float64)
    assert P.mobius_add(a, a, 1.0).tolist() == pytest.approx([0.8, 0.0], rel=1e-12)


@pytest.mark.parametrize("c", CURVATURES)
def test_dist_matches_mobius_definition_symmetric_triangle(c):
    x, y, z = (_ball_points(50, 3, c, seed=s) for s in (4, 5, 6))
    # the textbook definition, d = (2/sqrt c) artanh(sqrt(c) |(-x) (+) y|), vs the arcosh form dist uses
    m = P.mobius_add(-x, y, c).norm(dim=-1).tolist()
    ref = torch.tensor([2 / math.sqrt(c) * math.atanh(math.sqrt(c) * t) for t in m], dtype=torch.float64)
    dxy = P.dist(x, y, c)
    torch.testing.assert_close(dxy, ref, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(dxy, P.dist(y, x, c))
    assert (dxy <= P.dist(x, z, c) + P.dist(z, y, c) + 1e-12).all()
    torch.testing.assert_close(P.pairwise_dist(x, y, c)[torch.arange(50), torch.arange(50)], dxy)
    assert torch.allclose(P.dist(x, x, c), torch.zeros(50, dtype=torch.float64), atol=1e-6)


@pytest.mark.parametrize("c", CURVATURES)
def test_projection_and_gradients_near_boundary(c):
    # tangent vectors of norm 5..50 land on the boundary margin; float32 as in training
    g = torch.Generator().manual_seed(7)
    v = (torch.randn(6, 3, generator=g) * 20).requires_grad_()
    u = (torch.randn(6, 3, generator=g) * 20).requires_grad_()
    x, y = P.expmap0(v, c), P.expmap0(u, c)
    assert (x.norm(dim=-1) * math.sqrt(c) <= 1 - P.EPS + 1e-6).all()
    loss = (P.dist(x, y, c) + P.dist(x, x, c) + P.logmap0(y, c).norm(dim=-1)).sum()
    loss = loss + P.dist(P.expmap0(torch.zeros(3, requires_grad=True), c), y, c).sum()
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(v.grad).all() and torch.isfinite(u.grad).all()
    # and at the origin (x / |x| with |x| = 0)
    w = torch.zeros(2, 3, requires_grad=True)
    (P.expmap0(w, c).sum() + P.logmap0(w, c).sum()).backward()
    assert torch.isfinite(w.grad).all()
