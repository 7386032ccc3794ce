"""FastDropout: the same distribution as nn.Dropout (drop rate, unbiased scaling, train/eval switch, gradient),
reproducible under torch.manual_seed, and a drop-in that leaves state dicts unchanged."""

import pytest
import torch
from receipt_core.model.dropout import FastDropout, fast_dropout


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_drop_rate_and_scale_match_the_probability(p):
    torch.manual_seed(0)
    x = torch.ones(400, 1000)
    y = fast_dropout(x, p)
    dropped = float((y == 0).float().mean())
    assert abs(dropped - p) < 0.005  # 400k draws: the standard error is under 0.001
    kept = y[y != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / (1 - p)), rtol=1e-4)
    assert abs(float(y.mean()) - 1.0) < 0.01  # unbiased


def test_every_element_position_is_dropped_alike():
    """The four 16-bit lanes of each 64-bit draw are all uniform: no position in a group of four is favoured."""
    torch.manual_seed(1)
    y = fast_dropout(torch.ones(200_000, 4), 0.25)
    per_lane = (y == 0).float().mean(dim=0)
    assert torch.all((per_lane - 0.25).abs() < 0.006), per_lane


def test_masks_differ_between_calls_and_repeat_under_the_same_seed():
    x = torch.ones(64, 384)
    torch.manual_seed(3)
    first, second = fast_dropout(x, 0.1), fast_dropout(x, 0.1)
    torch.manual_seed(3)
    again = fast_dropout(x, 0.1)
    assert not torch.equal(first, second)
    assert torch.equal(first, again)


def test_gradient_is_the_mask_times_the_scale():
    torch.manual_seed(4)
    x = torch.randn(32, 48, requires_grad=True)
    y = fast_dropout(x, 0.2)
    y.sum().backward()
    expected = (y != 0).float() / (1 - round(0.2 * 65536) / 65536)
    assert torch.allclose(x.grad, expected)


def test_module_is_identity_in_eval_mode_and_drops_in_training():
    layer = FastDropout(0.5)
    x = torch.randn(16, 16)
    assert torch.equal(layer.eval()(x), x)
    assert (layer.train()(x) == 0).any()
    assert torch.equal(FastDropout(0.0).train()(x), x)


def test_bad_probability_is_refused():
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        fast_dropout(torch.ones(3), 1.0)


def test_heads_keep_their_state_dict_keys_and_odd_shapes_work():
    from receipt_core.model.multitask import TokenHead

    head = TokenHead(7, 3, hidden=5, dropout=0.1)
    assert list(head.state_dict()) == ["net.1.weight", "net.1.bias", "net.4.weight", "net.4.bias"]
    assert head.train()(torch.randn(3, 7)).shape == (3, 3)  # 21 and 15 elements: not multiples of four
