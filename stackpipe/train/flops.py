"""Parameter counts and training FLOPs per token, for throughput and MFU.

Counted from the config alone, so real-size presets need not be instantiated.

    training FLOPs per token = 6 * N_active + 6 * L * H * (d_qk + d_v) * K_avg

- N_active: weights that take part in a matrix multiply for one token: attention
  projections (GQA/MQA count their smaller K/V projections; MLA counts its low-rank
  down- and up-projections), the MLP, for MoE layers the router, the shared experts and
  only the top-k routed experts a token visits, and the output head. The input embedding
  is a lookup, not a multiply, and is left out (tied or not); norms and biases are
  negligible and left out too.
- 6 = 2 FLOPs per multiply-add, times 3 for forward plus backward (twice the forward).
- Attention scores and the weighted sum cost 2 * H * (d_qk + d_v) FLOPs forward per
  attended key. K_avg is the mean number of keys a query attends to: (T + 1) / 2 for a
  causal sequence of T, and min(i + 1, W) averaged over positions with a sliding window
  W (StarCoder2). Counting only the causal half is the conservative choice (Megatron and
  PaLM count all T keys, which gives MFU figures up to ~10% higher at 4-8k context);
  document masking is not subtracted, as the kernels still compute dense causal tiles.

MFU = achieved FLOPs per second / peak FLOPs per second of the devices used.
"""

from __future__ import annotations

from stackpipe.train.models.common.config import TransformerConfig

# Dense bf16 peak without sparsity, per device (vendor data sheets).
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0}


def attention_params(config: TransformerConfig) -> int:
    d, h = config.dim, config.n_heads
    if config.mla is None:
        hd = config.head_dim
        return d * h * hd + 2 * d * config.n_kv_heads * hd + h * hd * d
    mla = config.mla
    qk = mla.qk_nope_head_dim + mla.qk_rope_head_dim
    q = d * h * qk if mla.q_lora_rank is None else d * mla.q_lora_rank + mla.q_lora_rank * h * qk
    kv = d * (mla.kv_lora_rank + mla.qk_rope_head_dim) + mla.kv_lora_rank * h * (mla.qk_nope_head_dim + mla.v_head_dim)
    return q + kv + h * mla.v_head_dim * d


def mlp_params(dim: int, hidden: int, activation: str) -> int:
    return (3 if activation == "swiglu" else 2) * dim * hidden


def _is_moe_layer(config: TransformerConfig, layer: int) -> bool:
    return config.moe is not None and layer >= config.moe.first_k_dense


def ffn_params(config: TransformerConfig, layer: int, *, active: bool) -> int:
    if not _is_moe_layer(config, layer):
        return mlp_params(config.dim, config.ffn_dim, config.activation)
    moe = config.moe
    expert = mlp_params(config.dim, moe.expert_ffn_dim, config.activation)
    routed = moe.top_k if active else moe.num_routed_experts
    return config.dim * moe.num_routed_experts + (moe.num_shared_experts + routed) * expert


def active_matmul_params(config: TransformerConfig) -> int:
    layers = sum(attention_params(config) + ffn_params(config, i, active=True) for i in range(config.n_layers))
    return layers + config.dim * config.vocab_size


def total_params(config: TransformerConfig) -> int:
    """Every weight, embeddings included (biases and norms approximated as negligible)."""
    layers = sum(attention_params(config) + ffn_params(config, i, active=False) for i in range(config.n_layers))
    embeddings = config.vocab_size * config.dim * (1 if config.tie_embeddings else 2)
    positions = config.max_seq_len * config.dim if config.positions == "learned" else 0
    return layers + embeddings + positions


def mean_attended_keys(seq_len: int, window: int | None) -> float:
    if window is None or window >= seq_len:
        return (seq_len + 1) / 2
    # positions 0..W-1 see i+1 keys, the rest see W
    return (window * (window + 1) / 2 + (seq_len - window) * window) / seq_len


def attention_head_dims(config: TransformerConfig) -> tuple[int, int]:
    if config.mla is None:
        return config.head_dim, config.head_dim
    return config.mla.qk_nope_head_dim + config.mla.qk_rope_head_dim, config.mla.v_head_dim


def training_flops_per_token(config: TransformerConfig, seq_len: int) -> float:
    d_qk, d_v = attention_head_dims(config)
    keys = mean_attended_keys(seq_len, config.sliding_window)
    attention = 6 * config.n_layers * config.n_heads * (d_qk + d_v) * keys
    return 6 * active_matmul_params(config) + attention


def peak_flops(device_name: str, override_tflops: float | None = None) -> float | None:
    """Peak bf16 FLOP/s of one device, from its name; None when unknown (e.g. a CPU)."""
    if override_tflops is not None:
        return override_tflops * 1e12
    for model, tflops in PEAK_BF16_TFLOPS.items():
        if model in device_name:
            return tflops * 1e12
    return None
