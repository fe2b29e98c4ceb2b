"""StarCoder2: presets and the Starcoder2ForCausalLM adapter."""

from stackpipe.train.models.starcoder2.hf import HF_CLASS, from_hf_state_dict, hf_config, to_hf_state_dict
from stackpipe.train.models.starcoder2.presets import PRESETS

__all__ = ["HF_CLASS", "PRESETS", "from_hf_state_dict", "hf_config", "to_hf_state_dict"]
