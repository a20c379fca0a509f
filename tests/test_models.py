"""Networks: every resolution, class conditioning, the per-class wrapper."""

from __future__ import annotations

import pytest
import torch

from ganaug.models import Discriminator, Generator


# -- per-class conditioning -------------------------------------------------------------------
def test_per_class_wrapper_routes_each_row_to_its_own_network():
    from torch import nn

    from ganaug.models import PerClass

    class Tagged(nn.Module):
        def __init__(self):
            super().__init__()
            self.tag = nn.Parameter(torch.zeros(()))

        def forward(self, x, c, return_aux=False):
            assert (c == 0).all()  # each copy sees its class as index 0
            return (x + self.tag, None) if return_aux else x + self.tag

    net = PerClass(Tagged, n_classes=3)
    with torch.no_grad():
        for k, copy in enumerate(net.nets):
            copy.tag.fill_(10.0 * k)
    x, c = torch.zeros(5), torch.tensor([2, 0, 1, 2, 0])
    assert net(x, c).tolist() == [20.0, 0.0, 10.0, 20.0, 0.0]
    out, aux = net(x, c, return_aux=True)
    assert out.tolist() == [20.0, 0.0, 10.0, 20.0, 0.0] and aux is None
    net(x, c).sum().backward()
    assert [float(copy.tag.grad) for copy in net.nets] == [2.0, 1.0, 2.0]


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 16, 16), (1, 28, 28), (3, 32, 32), (1, 64, 64), (1, 16, 12)])
def test_networks_fit_every_supported_resolution(shape):
    g, d = Generator(5, shape, z_dim=16, channels=32), Discriminator(5, shape, channels=16, minibatch_std=True, aux_classifier=True)
    c = torch.arange(4) % 5
    x = g(torch.randn(4, 16), c)
    assert x.shape == (4, *shape) and x.abs().max() <= 1
    out, aux = d(x, c, return_aux=True)
    assert out.shape == (4,) and aux.shape == (4, 5)


def test_unsupported_resolution_is_refused():
    with pytest.raises(ValueError, match="8..64"):
        Generator(3, (1, 4, 4))
    with pytest.raises(ValueError, match="8..64"):
        Discriminator(3, (1, 128, 128))


def test_generator_depends_on_the_class():
    torch.manual_seed(0)
    g = Generator(3, (1, 8, 8), z_dim=8, channels=32).eval()
    z = torch.randn(1, 8).repeat(3, 1)
    x = g(z, torch.arange(3))
    assert not torch.allclose(x[0], x[1])
