"""StarCoder / StarCoderBase: presets and the GPTBigCodeForCausalLM adapter."""

from stackpipe.train.models.starcoder.hf import HF_CLASS, from_hf_state_dict, hf_config, to_hf_state_dict
from stackpipe.train.models.starcoder.presets import PRESETS

__all__ = ["HF_CLASS", "PRESETS", "from_hf_state_dict", "hf_config", "to_hf_state_dict"]
