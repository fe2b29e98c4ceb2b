"""DeepSeek-Coder-V2: MLA attention, DeepSeekMoE, YaRN (arXiv 2405.04434, 2406.11931)."""

from stackpipe.train.models.deepseek.hf import HF_CLASS, from_hf_state_dict, hf_config, to_hf_state_dict
from stackpipe.train.models.deepseek.presets import PRESETS

__all__ = ["HF_CLASS", "PRESETS", "from_hf_state_dict", "hf_config", "to_hf_state_dict"]
