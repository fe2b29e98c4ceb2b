"""Code Llama: presets and the LlamaForCausalLM adapter."""

from stackpipe.train.models.codellama.hf import HF_CLASS, from_hf_state_dict, hf_config, to_hf_state_dict
from stackpipe.train.models.codellama.presets import PRESETS

__all__ = ["HF_CLASS", "PRESETS", "from_hf_state_dict", "hf_config", "to_hf_state_dict"]
