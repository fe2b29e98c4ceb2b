"""The decoder every family shares: embeddings, pre-norm blocks, final norm, LM head.

Parameter names (what checkpoints hold and the HF adapters rename):
  tok_embeddings.weight, pos_embeddings.weight (learned positions only),
  layers.{i}.attention_norm.{weight,bias}, layers.{i}.attention.{q,k,v,o}_proj.{weight,bias}
  (MLA: the names of `MLAttention`), layers.{i}.ffn_norm.{weight,bias},
  layers.{i}.feed_forward.{gate,up,down}_proj.{weight,bias} (MoE: the names of `MoE`),
  norm.{weight,bias}, output.weight (absent with tied embeddings).
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributed.tensor import DTensor

from stackpipe.train.models.common.attention import Attention, build_attention_mask
from stackpipe.train.models.common.config import TransformerConfig
from stackpipe.train.models.common.experts import GroupedExperts
from stackpipe.train.models.common.feed_forward import FeedForward
from stackpipe.train.models.common.init import fill_
from stackpipe.train.models.common.mla import MLAttention
from stackpipe.train.models.common.moe import MoE
from stackpipe.train.models.common.norms import build_norm
from stackpipe.train.models.common.rope import RotaryEmbedding


def dropout(p: float) -> nn.Module:
    """nn.Dropout(p), or a no-op module when p is 0 (most presets): no mask is drawn."""
    return nn.Dropout(p) if p > 0 else nn.Identity()


class Block(nn.Module):
    """One layer; the unit the trainer shards (FSDP2) and recomputes (activation checkpointing)."""

    def __init__(self, config: TransformerConfig, layer_id: int):
        super().__init__()
        self.attention_norm = build_norm(config, config.dim)
        self.attention = MLAttention(config) if config.mla is not None else Attention(config)
        self.ffn_norm = build_norm(config, config.dim)
        if config.moe is not None and layer_id >= config.moe.first_k_dense:
            self.feed_forward = MoE(config)
        else:
            self.feed_forward = FeedForward(config.dim, config.ffn_dim, config.activation, config.bias)
        self.residual_dropout = dropout(config.residual_dropout)

    def forward(self, x: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = x + self.residual_dropout(self.attention(self.attention_norm(x), positions, mask))
        return x + self.residual_dropout(self.feed_forward(self.ffn_norm(x)))


class Transformer(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        self.tok_embeddings = nn.Embedding(config.vocab_size, config.dim)
        self.pos_embeddings = nn.Embedding(config.max_seq_len, config.dim) if config.positions == "learned" else None
        self.embedding_dropout = dropout(config.embedding_dropout)
        self.layers = nn.ModuleList(Block(config, i) for i in range(config.n_layers))
        self.norm = build_norm(config, config.dim)
        # Tied: the head reads tok_embeddings.weight, so one parameter exists and checkpoints hold it once.
        self.output = None if config.tie_embeddings else nn.Linear(config.dim, config.vocab_size, bias=False)

    def forward(
        self,
        input_ids: torch.Tensor,
        positions: torch.Tensor | None = None,
        document_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """input_ids (B, T) long -> logits (B, T, V). positions (B, T): per-token positions
        (default 0..T-1; packed rows restart them per document); document_ids (B, T):
        tokens attend only within their own document."""
        B, T = input_ids.shape
        if positions is None:
            positions = torch.arange(T, device=input_ids.device).expand(B, T)
        mask = build_attention_mask(document_ids, T, self.config.sliding_window, input_ids.device)
        h = self.tok_embeddings(input_ids)  # (B, T, D)
        if self.pos_embeddings is not None:
            h = h + self.pos_embeddings(positions)
        h = self.embedding_dropout(h)
        for layer in self.layers:
            h = layer(h, positions, mask)
        h = self.norm(h)
        if self.output is not None:
            return self.output(h)  # (B, T, V)
        weight = self.tok_embeddings.weight
        if isinstance(weight, DTensor):  # replicated over a tensor-parallel group: the same on every rank
            weight = weight.to_local()
        return F.linear(h, weight)  # (B, T, V)

    def aux_loss(self) -> torch.Tensor:
        """Sum of the MoE balance losses of the last forward (zero without MoE)."""
        losses = [layer.feed_forward.aux_loss for layer in self.layers if isinstance(layer.feed_forward, MoE)]
        # torch.zeros, not new_zeros of a parameter: under FSDP2 parameters are DTensors.
        return torch.stack(losses).sum() if losses else torch.zeros((), device=self.tok_embeddings.weight.device)

    @torch.no_grad()
    def init_weights(self) -> None:
        """Normal(0, init_std) matrices and embeddings, zero biases, unit norms; the
        projections back into the residual stream get std / sqrt(2 * n_layers) so its
        variance does not grow with depth (GPT-2, Radford et al. 2019, §2.3). Deterministic
        under torch.manual_seed: modules are visited in registration order, and sharded
        parameters get their piece of what one process draws (`common/init.py`), so a model
        built on the meta device, sharded, then `to_empty` + `init_weights` equals one built
        whole. Also recomputes the RoPE frequencies (buffers are garbage after `to_empty`)."""
        std = self.config.init_std
        scaled_std = std / math.sqrt(2 * self.config.n_layers)
        for name, module in self.named_modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module_std = scaled_std if name.endswith(("o_proj", "down_proj")) else std
                fill_(module.weight, functools.partial(nn.init.normal_, std=module_std))
                if getattr(module, "bias", None) is not None:
                    fill_(module.bias, nn.init.zeros_)
            elif isinstance(module, GroupedExperts):
                module.init_weights(std, self.config.n_layers)
            elif isinstance(module, (nn.LayerNorm, nn.RMSNorm)):
                fill_(module.weight, nn.init.ones_)
                if getattr(module, "bias", None) is not None:
                    fill_(module.bias, nn.init.zeros_)
            elif isinstance(module, RotaryEmbedding):
                module.reset_inv_freq()
