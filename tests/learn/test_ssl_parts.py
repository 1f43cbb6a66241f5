"""Encoders, augmentations and SSL losses (issue 7)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from workbench.core.errors import ModelError  # noqa: E402
from workbench.learn import augment as A  # noqa: E402
from workbench.learn.encoders import ResNetEncoder, build_encoder  # noqa: E402
from workbench.learn.ssl import BYOL, SimCLR, nt_xent  # noqa: E402


@pytest.mark.parametrize("channels", [1, 2, 5])
@pytest.mark.parametrize("shape", [(17, 23), (32, 32)])
def test_encoder_shapes_for_any_channels_and_size(channels, shape):
    torch.manual_seed(0)
    enc = ResNetEncoder(channels, width=4, depth=(1, 1), out_dim=12)
    out = enc(torch.randn(3, channels, *shape))
    assert out.shape == (3, 12)
    assert torch.isfinite(out).all()
    again = build_encoder(enc.config)
    assert again.config == enc.config
    assert sum(p.numel() for p in again.parameters()) == sum(p.numel() for p in enc.parameters())


def test_encoder_rejects_wrong_channel_count():
    enc = ResNetEncoder(3, width=4, depth=(1,), out_dim=8)
    with pytest.raises(ModelError, match="expects"):
        enc(torch.randn(2, 1, 16, 16))
    with pytest.raises(ModelError):
        build_encoder({"arch": "vit"})


def test_nt_xent_matches_hand_computed_value():
    e = torch.eye(2)
    # Positives identical: each anchor sees its positive (cos 1) and two orthogonal views.
    assert nt_xent(e, e, temperature=1.0).item() == pytest.approx(math.log((2 + math.e) / math.e))
    # Positives orthogonal, a negative identical to the anchor: -log(1 / (1 + 1 + e)).
    assert nt_xent(e, e.flip(0), temperature=1.0).item() == pytest.approx(math.log(2 + math.e))
    # Temperature divides the similarities.
    assert nt_xent(e, e, temperature=0.5).item() == pytest.approx(
        math.log((2 + math.e ** 2) / math.e ** 2))


def test_byol_target_is_an_ema_of_the_online_network():
    torch.manual_seed(0)
    model = BYOL(ResNetEncoder(1, width=4, depth=(1,), out_dim=8), proj_dim=4, hidden=8)
    for t, o in zip(model.target_parameters(), model.online_parameters()):
        assert torch.equal(t, o)
    opt = torch.optim.SGD(model.trainable_parameters(), lr=0.5)
    x = torch.randn(6, 1, 16, 16)
    loss = model.loss(x, x.flip(-1))
    loss.backward()
    assert all(p.grad is None for p in model.target_parameters())
    opt.step()
    before = [t.clone() for t in model.target_parameters()]
    online = [o.detach().clone() for o in model.online_parameters()]
    assert any(not torch.equal(b, o) for b, o in zip(before, online))
    model.update_target(0.9)
    for t, b, o in zip(model.target_parameters(), before, online):
        assert torch.allclose(t, 0.9 * b + 0.1 * o, atol=1e-7)
    assert model.ema_rate(0.0) == pytest.approx(0.99) and model.ema_rate(1.0) == pytest.approx(1.0)


def test_simclr_loss_decreases_with_training():
    torch.manual_seed(0)
    model = SimCLR(ResNetEncoder(1, width=4, depth=(1,), out_dim=8), proj_dim=4, hidden=8)
    x = torch.randn(8, 1, 16, 16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(15):
        loss = model.loss(x, x + 0.01 * torch.randn_like(x))
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_augment_keeps_shape_dtype_device_and_is_seeded(channels, dtype):
    x = torch.rand(6, channels, 20, 20, generator=A.make_generator(1)).to(dtype)
    aug = A.Augment(channel_drop_p=0.5)
    a = aug(x, A.make_generator(7))
    b = aug(x, A.make_generator(7))
    c = aug(x, A.make_generator(8))
    assert a.shape == x.shape and a.dtype == x.dtype and a.device == x.device
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, x)
    assert torch.isfinite(a).all()


def test_individual_augmentations_do_what_they_say():
    g = A.make_generator(0)
    x = torch.zeros(4, 1, 21, 21)
    x[:, :, 10, 10] = 1.0
    blurred = A.gaussian_blur(x, g, sigma=(1.0, 1.0))
    assert blurred.sum(dim=(2, 3)).allclose(torch.ones(4, 1), atol=1e-4)  # flux kept
    assert blurred.max() < 0.5
    # 90-degree turns and flips permute pixels: the sorted values are unchanged.
    y = torch.rand(5, 1, 8, 8, generator=g)
    turned = A.rot90_flip(y, g)
    assert torch.equal(turned.flatten(1).sort(1).values, y.flatten(1).sort(1).values)
    th = A.percentile_threshold(y, g, q=(0.5, 0.5))
    assert ((th == 0).float().mean(dim=(1, 2, 3)) >= 0.45).all()
    multi = torch.ones(200, 3, 4, 4)
    dropped = A.channel_dropout(multi, g, p=1.0)
    assert (dropped.sum(dim=(2, 3)) == 0).sum(1).eq(1).all()  # exactly one channel off
    cropped = A.rotate_crop_resize(torch.ones(2, 1, 16, 16), g, scale=(0.5, 0.5))
    assert torch.allclose(cropped[:, :, 4:12, 4:12], torch.ones(1))


@pytest.mark.gpu
def test_augment_runs_on_the_tensor_device():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    x = torch.rand(4, 1, 16, 16, device="cuda")
    out = A.Augment()(x, A.make_generator(0))
    assert out.device == x.device
    assert np.allclose(out.cpu().numpy(), A.Augment()(x.cpu(), A.make_generator(0)).numpy(),
                       atol=1e-4)
