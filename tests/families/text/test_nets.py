"""Text networks: shapes, padding invariance, configuration errors."""

from __future__ import annotations

import pytest
import torch

from mlvsdl.errors import ConfigError
from mlvsdl.families.text.nets import ARCHS, TextNetConfig, build_text_net


@pytest.mark.parametrize("arch", ARCHS)
def test_output_shape_and_padding_does_not_change_outputs(arch):
    config = TextNetConfig(
        arch,
        n_embeddings=50,
        n_side=2,
        n_outputs=3,
        max_len=12,
        embed_dim=16,
        hidden_dim=8,
        n_heads=2,
    )
    torch.manual_seed(0)
    net = build_text_net(config).eval()
    ids = torch.tensor([[5, 6, 7, 0, 0, 0], [8, 9, 0, 0, 0, 0]])
    side = torch.randn(2, 2)
    out = net(ids, side)
    assert out.shape == (2, 3)
    wider = torch.cat([ids, torch.zeros(2, 6, dtype=torch.long)], dim=1)
    torch.testing.assert_close(net(wider, side), out)
    assert torch.isfinite(net(torch.zeros(1, 6, dtype=torch.long), side[:1])).all()


def test_unknown_arch_and_bad_heads_are_refused():
    with pytest.raises(ConfigError, match="unknown text network"):
        build_text_net(TextNetConfig("lstm", 10, 0, 2, 8))
    with pytest.raises(ConfigError, match="multiple of n_heads"):
        build_text_net(TextNetConfig("transformer", 10, 0, 2, 8, embed_dim=10, n_heads=4))
