"""skellm.vqvae: Poincaré maths, code assignment, losses, dead-code resets, tiny training, save/load.

Reference values are closed forms or hand computations written out in the comments, not the code under
test. Everything is tiny (<= 8 sequences of T=16, J=4) so the file runs in seconds on one thread.
"""

from __future__ import annotations

import math

import pytest
import torch

from skellm.vqvae import PAD, VectorQuantizer, VQConfig, load, save, train_vqvae
from skellm.vqvae import poincare as P
from skellm.vqvae.losses import ContextPredictor, context_loss, zipf_loss, zipf_target

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


# ---------------------------------------------------------------- codebook


def _quantizer(embed: list[list[float]], geometry: str, **kw) -> VectorQuantizer:
    e = torch.tensor(embed)
    q = VectorQuantizer(len(e), e.shape[1], geometry=geometry, **kw)
    with torch.no_grad():
        q.embed.copy_(e)
    return q


# Three codes and four latents (tangent vectors for the hyperbolic codebook, c = 1).
CODES = [[0.0, 0.0], [2.0, 1.5], [-1.0, 0.0]]
LATENTS = [[2.0, 0.0], [0.1, 0.0], [-0.8, 0.1], [1.9, 1.4]]


def test_assignment_euclidean_by_hand():
    # squared L2 to (e0, e1, e2): z0 (4, 2.25, 9) -> 1; z1 (0.01, 5.86, 1.21) -> 0;
    # z2 (0.65, 9.8, 0.05) -> 2; z3 (5.57, 0.02, 10.37) -> 1
    q = _quantizer(CODES, "euclidean").eval()
    assert q.assign(torch.tensor(LATENTS)).tolist() == [1, 0, 2, 1]
    out = q(torch.tensor(LATENTS))
    assert out.codes.tolist() == [1, 0, 2, 1]
    torch.testing.assert_close(out.sq_dist[0], torch.tensor([4.0, 2.25, 9.0]))


def test_assignment_hyperbolic_by_hand_differs_on_purpose():
    # z0 = (2, 0) is built to split the geometries. Euclidean: e1 = (2, 1.5) is nearest (2.25 < 4).
    # On the ball, expmap0(z0) and expmap0(e1) sit near the boundary (radii tanh 2 = .964, tanh 2.5 =
    # .987), 37 degrees apart; sideways moves out there are expensive (circles grow exponentially with
    # the radius, the tree-like property), so the detour through the root is shorter:
    # d(z0, e0) = 2 |z0| = 4 (a ray through 0), d(z0, e2) = 2 (2 + 1) = 6 (a diameter), while
    # d(z0, e1) = arcosh(1 + 2 |x - y|^2 / ((1 - |x|^2)(1 - |y|^2))) = 6.701 (by hand from the radii
    # and angle). The other latents are near their codes, where the ball is nearly Euclidean:
    # z1 -> (0.2, 4.85, 2.2) e0; z2 -> (1.61, 6.47, 0.53) e2; z3 -> (4.72, 0.605, 6.62) e1.
    q = _quantizer(CODES, "hyperbolic", curvature=1.0).eval()
    assert q.assign(torch.tensor(LATENTS)).tolist() == [0, 0, 2, 1]
    x, y = math.tanh(2.0), [math.tanh(2.5) * 2 / 2.5, math.tanh(2.5) * 1.5 / 2.5]
    d01 = math.acosh(1 + 2 * ((x - y[0]) ** 2 + y[1] ** 2) / ((1 - x * x) * (1 - y[0] ** 2 - y[1] ** 2)))
    assert d01 == pytest.approx(6.701, abs=1e-3)
    d2 = q(torch.tensor(LATENTS)).sq_dist[0]
    torch.testing.assert_close(d2, torch.tensor([16.0, d01**2, 36.0]), rtol=1e-4, atol=1e-4)


def test_codebook_commitment_losses_euclidean_by_hand():
    # z0 = (.2, 0) -> e0 = (0, 0), d^2 = .04; z1 = (.9, 1.2) -> e1 = (1, 1), d^2 = .01 + .04 = .05;
    # z2 is masked out. codebook = (.04 + .05) / 2 = .045, commitment = .25 * .045.
    q = _quantizer([[0.0, 0.0], [1.0, 1.0]], "euclidean", beta=0.25).eval()
    z = torch.tensor([[0.2, 0.0], [0.9, 1.2], [5.0, 5.0]], requires_grad=True)
    out = q(z, torch.tensor([True, True, False]))
    assert out.codes.tolist() == [0, 1, PAD]
    assert out.losses["codebook"].item() == pytest.approx(0.045, rel=1e-5)
    assert out.losses["commitment"].item() == pytest.approx(0.25 * 0.045, rel=1e-5)
    # codebook loss moves only the codes: d/de_k mean_i |z_i - e_k|^2 = (e_k - z_i) (mean over 2)
    out.losses["codebook"].backward(retain_graph=True)
    assert z.grad is None
    torch.testing.assert_close(q.embed.grad, torch.tensor([[-0.2, 0.0], [0.1, -0.2]]))
    # commitment moves only the latents: .25 (z_i - e_k); the masked latent gets nothing
    q.embed.grad = None
    out.losses["commitment"].backward(retain_graph=True)
    assert q.embed.grad is None
    torch.testing.assert_close(z.grad, torch.tensor([[0.05, 0.0], [-0.025, 0.05], [0.0, 0.0]]))
    # straight-through: the output is the code, its gradient goes to z unchanged
    torch.testing.assert_close(out.quantized[:2].detach(), torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
    z.grad = None
    out.quantized.sum().backward()
    torch.testing.assert_close(z.grad, torch.ones(3, 2))


@pytest.mark.parametrize("c", (1.0, 0.3))
def test_codebook_commitment_losses_hyperbolic_by_hand(c):
    # all on one ray through 0, where d(expmap0 u, expmap0 v) = 2 |u - v| for any c:
    # z0 = (.5, 0) -> e0 = (.2, 0), d = .6; z1 = (-1.4, 0) -> e1 = (-1, 0), d = .8.
    # codebook = (.36 + .64) / 2 = .5, commitment = .25 * .5
    q = _quantizer([[0.2, 0.0], [-1.0, 0.0]], "hyperbolic", curvature=c, beta=0.25).eval()
    out = q(torch.tensor([[0.5, 0.0], [-1.4, 0.0]]))
    assert out.codes.tolist() == [0, 1]
    assert out.losses["codebook"].item() == pytest.approx(0.5, rel=1e-4)
    assert out.losses["commitment"].item() == pytest.approx(0.125, rel=1e-4)
    # the decoder gets logmap0 of the code's ball point: the code itself
    torch.testing.assert_close(out.quantized.detach(), torch.tensor([[0.2, 0.0], [-1.0, 0.0]]))


def test_usage_and_perplexity_by_hand():
    # codes chosen 0, 0, 1, 2 of 4: usage 3/4; p = (.5, .25, .25, 0), H = 1.5 ln 2, perplexity 2^1.5
    q = _quantizer([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [9.0, 9.0]], "euclidean").eval()
    out = q(torch.tensor([[0.0, 0.0], [0.1, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    assert out.codes.tolist() == [0, 0, 1, 2]
    assert out.stats["usage"].item() == pytest.approx(0.75)
    assert out.stats["perplexity"].item() == pytest.approx(2**1.5, rel=1e-5)


@pytest.mark.parametrize("geometry", ("euclidean", "hyperbolic"))
def test_dead_code_reset_after_dead_after_steps(geometry):
    # code 2 sits far from every latent, so it is never chosen; with dead_after = 3 it is unused
    # after steps 1-3 and replaced at the start of step 4 by one of that step's latents.
    q = _quantizer([[0.0, 0.0], [0.5, 0.5], [30.0, 30.0]], geometry, dead_after=3, ema_decay=0.5).train()
    torch.manual_seed(0)
    for step in range(3):
        out = q(torch.rand(5, 2) * 0.5)
        assert out.stats["resets"].item() == 0
        assert q.unused[2].item() == step + 1
        assert 2 not in out.codes.tolist()
    assert q.embed[2].tolist() == [30.0, 30.0]
    z = torch.rand(5, 2) * 0.5
    out = q(z)
    assert out.stats["resets"].item() == 1
    assert any(torch.equal(q.embed[2].detach(), row) for row in z)
    assert q.unused[2].item() == 0 and 2 in out.codes.tolist()  # the revived code is someone's nearest
    assert q.unused[:2].max().item() <= 3
    # eval mode changes nothing
    before = (q.embed.detach().clone(), q.unused.clone(), q.ema_usage.clone())
    q.eval()
    for _ in range(5):
        q(torch.rand(5, 2) * 0.01)
    assert torch.equal(before[0], q.embed.detach()) and torch.equal(before[1], q.unused)
    assert torch.equal(before[2], q.ema_usage)


def test_ema_usage_by_hand():
    # ema_decay .5, start 1/3 each; one step choosing 0, 0, 1, 1 -> .5 * 1/3 + .5 * (.5, .5, 0)
    q = _quantizer([[0.0], [1.0], [9.0]], "euclidean", ema_decay=0.5).train()
    q(torch.tensor([[0.0], [0.1], [1.0], [0.9]]))
    torch.testing.assert_close(q.ema_usage, torch.tensor([1 / 6 + 0.25, 1 / 6 + 0.25, 1 / 6]))
    assert q.unused.tolist() == [0, 0, 1]


# ---------------------------------------------------------------- inductive-bias losses


def test_zipf_target_by_hand():
    # s = 1, 4 ranks: (1, 1/2, 1/3, 1/4) / (25/12)
    torch.testing.assert_close(zipf_target(4), torch.tensor([12, 6, 4, 3]) / 25.0)


def test_zipf_loss_by_hand():
    q = zipf_target(4)
    # already Zipfian (in a shuffled code order: only ranks matter) -> 0
    assert zipf_loss(q[[2, 0, 3, 1]][None]).item() == pytest.approx(0.0, abs=1e-6)
    # uniform: KL = log(1/4) - 1/4 sum_r log q_r = -ln 4 + ln(24)/4 + ln(25/12) = 0.142188
    uni = torch.full((3, 4), 0.25)
    assert zipf_loss(uni).item() == pytest.approx(-math.log(4) + math.log(24) / 4 + math.log(25 / 12), 1e-5)
    assert zipf_loss(uni).item() == pytest.approx(0.142188, abs=1e-6)
    # two valid positions (.4, .4, .2), (0, .6, .4) average to (.2, .5, .3), sorted (.5, .3, .2);
    # q = (6, 3, 2) / 11; KL = .5 ln(11/12) + .3 ln(1.1) + .2 ln(1.1) = .5 ln(12.1 / 12) = 0.0041494.
    # The masked third row would change the mean if it counted.
    probs = torch.tensor([[[0.4, 0.4, 0.2], [0.0, 0.6, 0.4], [1.0, 0.0, 0.0]]], requires_grad=True)
    loss = zipf_loss(probs, torch.tensor([[True, True, False]]))
    assert loss.item() == pytest.approx(0.5 * math.log(12.1 / 12), rel=1e-4)
    loss.backward()
    assert torch.isfinite(probs.grad).all() and probs.grad[0, 2].abs().sum() == 0


def test_context_loss_by_hand():
    # D = 1, U = 2, z = (1, 2, 3, 4), codes (0, 0, 1, 1). Interior positions w = 1, 2 read
    # [z0; z2] = (1, 3) and [z1; z3] = (2, 4); a linear predictor with weights [[1, 0], [0, 0]] gives
    # logits (1, 0) and (2, 0). CE: w=1 target 0: ln(1 + e^-1) = .313262; w=2 target 1: ln(1 + e^2)
    # = 2.126928; mean 1.220095.
    lin = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    z = torch.tensor([[[1.0], [2.0], [3.0], [4.0]]], requires_grad=True)
    codes = torch.tensor([[0, 0, 1, 1]])
    full = context_loss(lin, z, codes)
    assert full.item() == pytest.approx((math.log(1 + math.exp(-1)) + math.log(1 + math.exp(2))) / 2, 1e-6)
    # position 3 invalid: w = 2 loses its right neighbour, only w = 1 counts
    part = context_loss(lin, z, codes, torch.tensor([[True, True, True, False]]))
    assert part.item() == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-6)
    # gradient reaches the neighbours' latents, not the centre's (z1 only feeds w = 2 as a neighbour)
    part.backward()
    assert z.grad[0, 0].item() != 0 and z.grad[0, 2].item() == 0 and z.grad[0, 1].item() == 0
    # an untrained predictor with zero output: CE = ln U; too short a sequence: 0
    zero = ContextPredictor(1, 5)
    torch.nn.init.zeros_(zero.net[-1].weight)
    torch.nn.init.zeros_(zero.net[-1].bias)
    assert context_loss(zero, z, codes).item() == pytest.approx(math.log(5), rel=1e-6)
    assert context_loss(zero, z[:, :2], codes[:, :2]).item() == 0


# ---------------------------------------------------------------- model and training


def _sinusoids(n: int = 8, t: int = 16, j: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """n takes of (t, j, 3): one sinusoid per take (own frequency and phase), fixed per-channel
    amplitudes; take 0 has its last 4 frames invalid (a whole latent window), take 1 its last 2 (half)."""
    g = torch.Generator().manual_seed(0)
    phase = torch.rand(n, 1, 1, 1, generator=g) * 2 * math.pi
    freq = 0.3 + 0.3 * torch.rand(n, 1, 1, 1, generator=g)
    amp = 0.5 + torch.rand(1, 1, j, 3, generator=g)
    x = amp * torch.sin(torch.arange(t).float()[None, :, None, None] * freq + phase)
    mask = torch.ones(n, t, dtype=torch.bool)
    mask[0, -4:] = False
    mask[1, -2:] = False
    return x, mask


def _tiny(geometry: str) -> VQConfig:
    return VQConfig(codes=16, dim=8, hidden=32, geometry=geometry, dead_after=10)


@pytest.mark.parametrize("geometry", ("euclidean", "hyperbolic"))
def test_train_reconstruction_falls_and_save_load(geometry, tmp_path):
    x, mask = _sinusoids()
    model, hist = train_vqvae(x, mask, _tiny(geometry), steps=40, batch_size=8, lr=3e-3, seed=0)
    assert len(hist) == 40
    first = sum(h["recon"] for h in hist[:5]) / 5
    last = sum(h["recon"] for h in hist[-5:]) / 5
    assert last < 0.5 * first, (first, last)
    assert all(math.isfinite(v) for h in hist for v in h.values())
    codes = model.tokenize(x, mask)
    assert codes.shape == (8, 4) and codes.dtype == torch.long
    # a latent is valid if any of its frames is: take 0's last window is padding, take 1's is not
    assert codes[0, -1].item() == PAD and (codes[:, :3] >= 0).all() and (codes[1:] >= 0).all()
    # invalid frames are zeroed before the encoder and left out of the loss: garbage there changes nothing
    junk = torch.where(mask[..., None, None], x, torch.full_like(x, 1e3))
    assert torch.equal(model.tokenize(junk, mask), codes)
    assert model(junk, mask).losses["recon"].item() == pytest.approx(model(x, mask).losses["recon"].item())
    out = model(x, mask)
    assert torch.equal(out.codes, codes) and out.recon.shape == x.shape
    # recon loss = MSE over the valid frames only, in per-channel standard-deviation units
    err = ((out.recon - x) / model.std.view(1, 1, 4, 3)).pow(2).mean((2, 3))
    assert out.losses["recon"].item() == pytest.approx(err[mask].mean().item(), rel=1e-4)
    save(model, tmp_path / "tok")
    again = load(tmp_path / "tok")
    assert again.cfg == model.cfg and not again.training
    assert torch.equal(again.tokenize(x, mask), codes)
    torch.testing.assert_close(again(x, mask).recon, out.recon, rtol=0, atol=0)


def test_training_is_deterministic():
    x, mask = _sinusoids()
    cfg = _tiny("hyperbolic")
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    m1, h1 = train_vqvae(x, mask, cfg, steps=12, batch_size=4, lr=3e-3, seed=5, log_every=3)
    after = torch.rand(3)
    m2, h2 = train_vqvae(x, mask, cfg, steps=12, batch_size=4, lr=3e-3, seed=5, log_every=3)
    _, h3 = train_vqvae(x, mask, cfg, steps=12, batch_size=4, lr=3e-3, seed=6, log_every=3)
    assert [h["step"] for h in h1] == [0, 3, 6, 9, 11]
    assert h1 == h2 and h1 != h3
    assert torch.equal(m1.tokenize(x, mask), m2.tokenize(x, mask))
    assert torch.equal(before, after)  # the caller's RNG stream is untouched


def test_config_and_shape_errors():
    with pytest.raises(ValueError, match="geometry"):
        VQConfig(geometry="spherical")
    with pytest.raises(ValueError, match="power of 2"):
        VQConfig(stride=3)
    x, mask = _sinusoids(n=2, t=18)
    model = train_vqvae(x[:, :16], mask[:, :16], _tiny("euclidean"), steps=1, batch_size=2)[0]
    with pytest.raises(ValueError, match="multiple of the stride"):
        model.tokenize(x, mask)
    with pytest.raises(ValueError, match="expected"):
        model.tokenize(x[:, :16, :3], mask[:, :16])
