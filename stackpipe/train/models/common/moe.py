"""DeepSeekMoE layer: shared experts plus top-k routed experts (arXiv 2401.06066, 2405.04434).

Every token goes through the shared experts (one SwiGLU MLP `num_shared_experts` experts
wide, as Hugging Face builds it) and through the `top_k` routed experts with the highest
softmax gate scores, weighted by those scores times `routed_scaling`. With `n_groups`
> 1 (DeepSeek-V2 236B) routing is group-limited: only the `topk_groups` groups holding
the highest single scores stay eligible, which bounds how many devices a token reaches
under expert parallelism. Routing matches HF's DeepseekV2TopkRouter. The routed experts
are stacked weights run by one grouped GEMM (`common/experts.py`).
"""

from __future__ import annotations

import torch
from torch import nn

from stackpipe.train.models.common.config import TransformerConfig
from stackpipe.train.models.common.experts import GroupedExperts
from stackpipe.train.models.common.feed_forward import FeedForward
from stackpipe.train.models.common.init import local


class MoE(nn.Module):
    """`aux_loss` holds, after every forward, DeepSeek-V2's expert-level balance loss
    alpha * sum_i f_i * P_i per sequence, averaged over the batch (f_i: routed share of
    expert i times N_routed / top_k, P_i: its mean gate score); zero in eval mode. The
    training loop adds it to the language-model loss."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        moe = config.moe
        self.n_experts, self.top_k = moe.num_routed_experts, moe.top_k
        self.n_groups, self.topk_groups = moe.n_groups, moe.topk_groups
        self.routed_scaling, self.norm_topk_prob = moe.routed_scaling, moe.norm_topk_prob
        self.aux_loss_alpha = moe.aux_loss_alpha
        self.gate = nn.Linear(config.dim, self.n_experts, bias=False)
        self.experts = GroupedExperts(self.n_experts, config.dim, moe.expert_ffn_dim)
        self.shared_experts = FeedForward(config.dim, moe.num_shared_experts * moe.expert_ffn_dim, "swiglu", False)
        self.aux_loss = torch.zeros(())

    def route(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (N, D) -> gate scores (N, E) float32, weights (N, K) float32, expert ids (N, K)."""
        # Routing decisions flip on small score differences: keep the gate in float32
        # even under bf16 autocast, as DeepSeek does.
        with torch.autocast(device_type=x.device.type, enabled=False):
            scores = (x.float() @ local(self.gate.weight).float().t()).softmax(dim=-1)  # (N, E)
        eligible = scores
        if self.n_groups > 1:
            grouped = scores.view(-1, self.n_groups, self.n_experts // self.n_groups)  # (N, G, E/G)
            kept = grouped.amax(dim=-1).topk(self.topk_groups, dim=-1).indices  # (N, topk_groups)
            group_mask = torch.zeros_like(grouped[..., 0], dtype=torch.bool).scatter_(1, kept, True)  # (N, G)
            eligible = (grouped * group_mask.unsqueeze(-1)).view_as(scores)
        weights, ids = eligible.topk(self.top_k, dim=-1)  # (N, K)
        if self.norm_topk_prob:
            weights = weights / weights.sum(dim=-1, keepdim=True)
        return scores, weights * self.routed_scaling, ids

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        x_flat = x.reshape(-1, D)  # (N, D)
        scores, weights, ids = self.route(x_flat)
        self.aux_loss = self._balance_loss(scores.view(B, T, -1), ids.view(B, T, -1))

        routed = self.experts(x_flat, ids)  # (N, K, D)
        routed = (routed * weights.unsqueeze(-1)).sum(dim=1).to(x.dtype)  # (N, D)
        return routed.view(B, T, D) + self.shared_experts(x)

    def _balance_loss(self, scores: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """scores (B, T, E), ids (B, T, K) -> scalar; counted per sequence as DeepSeek-V2
        does (its `seq_aux`)."""
        if not self.training or self.aux_loss_alpha == 0:
            return scores.new_zeros(())
        B, T, K = ids.shape
        counts = torch.zeros(B, self.n_experts, device=ids.device).scatter_add_(
            1, ids.view(B, -1), torch.ones(B, T * K, device=ids.device)
        )  # (B, E)
        f = counts * self.n_experts / (K * T)  # (B, E), 1 everywhere under perfect balance
        p = scores.mean(dim=1)  # (B, E)
        return self.aux_loss_alpha * (f * p).sum(dim=-1).mean()
