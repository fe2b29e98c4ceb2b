"""YaRN: NTK-by-parts RoPE interpolation with attention temperature (arXiv 2309.00071).

Dimensions that rotate many times inside the original context keep their frequency
(extrapolation), those that rotate less than once are divided by `factor`
(interpolation), and a linear ramp joins the two between `beta_fast` and `beta_slow`
rotations. DeepSeek-V2 splits the temperature in two: cos/sin are multiplied by
mscale(factor, mscale) / mscale(factor, mscale_all_dim) and the softmax scale by
mscale(factor, mscale_all_dim)^2. The numerics follow Hugging Face's
`_compute_yarn_parameters` and `yarn_apply_mscale`, which DeepseekV2ForCausalLM uses.
"""

from __future__ import annotations

import math

import torch

from stackpipe.train.models.common.config import RopeScaling


def _mscale(factor: float, mscale: float = 1.0) -> float:
    if factor <= 1:
        return 1.0
    return 0.1 * mscale * math.log(factor) + 1.0


def _correction_dim(rotations: float, head_dim: int, theta: float, max_position: int) -> float:
    """The (fractional) dimension pair index whose wavelength fits `rotations` times
    into `max_position` positions."""
    return head_dim * math.log(max_position / (rotations * 2 * math.pi)) / (2 * math.log(theta))


def yarn_inv_freq_and_scale(head_dim: int, theta: float, scaling: RopeScaling) -> tuple[torch.Tensor, float]:
    """Inverse frequencies (head_dim // 2,) float32 and the factor cos/sin are multiplied by.

    head_dim: dimensions that are rotated (DeepSeek-V2: qk_rope_head_dim).
    theta: RoPE base. scaling: a `RopeScaling` of kind "yarn".
    """
    pos_freqs = theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    extrapolated = 1.0 / pos_freqs
    interpolated = 1.0 / (scaling.factor * pos_freqs)

    # HF truncates the ramp ends to whole dimensions (its default `truncate=True`).
    low = math.floor(_correction_dim(scaling.beta_fast, head_dim, theta, scaling.original_max_position))
    high = math.ceil(_correction_dim(scaling.beta_slow, head_dim, theta, scaling.original_max_position))
    low, high = max(low, 0), min(high, head_dim - 1)
    if low == high:
        high += 0.001  # a zero-width ramp would divide by zero
    ramp = ((torch.arange(head_dim // 2, dtype=torch.float32) - low) / (high - low)).clamp(0, 1)
    keep = 1 - ramp  # 1: frequency kept (fast dims), 0: fully interpolated (slow dims)
    inv_freq = interpolated * (1 - keep) + extrapolated * keep

    # HF only uses the ratio when both are set; otherwise the plain YaRN temperature.
    if scaling.mscale and scaling.mscale_all_dim:
        cos_sin_scale = _mscale(scaling.factor, scaling.mscale) / _mscale(scaling.factor, scaling.mscale_all_dim)
    else:
        cos_sin_scale = _mscale(scaling.factor)
    return inv_freq, float(cos_sin_scale)


def yarn_softmax_scale(scaling: RopeScaling) -> float:
    """Multiplier of the attention softmax scale 1/sqrt(d): mscale(factor, mscale_all_dim)^2,
    1 when mscale_all_dim is 0. With DeepSeek-V2's mscale == mscale_all_dim (0.707) the
    whole YaRN temperature sits here and cos/sin stay unscaled."""
    if not scaling.mscale_all_dim:
        return 1.0
    return _mscale(scaling.factor, scaling.mscale_all_dim) ** 2
