"""`stackpipe run CONFIG.yaml`: a bad value in the config is a RunConfigError naming the
config file, the key and the value."""

from __future__ import annotations

import pytest
import yaml

from stackpipe.runconfig import RunConfigError, load_run_config


def write_config(directory, **overrides):
    config = {"output": "out", "family": "starcoder", "sources": [{"name": "code", "inputs": ["repo"]}]}
    config.update(overrides)
    path = directory / "run.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_unknown_family_names_config_file_key_and_known_families(tmp_path):
    path = write_config(tmp_path, family="gpt5")
    with pytest.raises(RunConfigError) as error:
        load_run_config(str(path))
    message = str(error.value)
    assert message.startswith(f"{path}: key 'family': unknown family 'gpt5'")
    assert "fim.yaml defines: " in message and "starcoder2" in message


@pytest.mark.parametrize("overrides, key, value", [
    ({"seed": -1}, "seed", "-1"),
    ({"seq_len": 10}, "seq_len", "10"),  # a sequence holds at least 64 tokens
    ({"shard_mb": float("nan")}, "shard_mb", "nan"),
    ({"sources": [{"name": "code", "inputs": ["repo"], "weight": float("inf")}]}, "sources[0].weight", "inf"),
    ({"tokenizer": {"max_mb": float("nan")}}, "tokenizer.max_mb", "nan"),
    ({"tokenizer": {"vocab_size": -1}}, "tokenizer.vocab_size", "-1"),
    ({"tokenizer": {"vocab_size": 200}}, "tokenizer.vocab_size", "200"),  # starcoder: 256 bytes + 19 specials
    ({"tokenizer": {"min_frequency": 0}}, "tokenizer.min_frequency", "0"),
])
def test_out_of_range_value_names_config_file_key_and_value(tmp_path, overrides, key, value):
    path = write_config(tmp_path, **overrides)
    with pytest.raises(RunConfigError) as error:
        load_run_config(str(path))
    message = str(error.value)
    assert message.startswith(f"{path}: key '{key}': ") and f"got {value}" in message


def test_missing_rules_directory_names_key(tmp_path):
    path = write_config(tmp_path, rules="no-such-rules")
    with pytest.raises(RunConfigError, match=r"run\.yaml: key 'rules': .*no-such-rules.* does not exist"):
        load_run_config(str(path))


def test_null_means_the_default(tmp_path):
    config = load_run_config(str(write_config(tmp_path, seed=None, workers=None, tokenizer=None, rules=None)))
    assert (config.seed, config.workers, config.tokenizer.max_mb, config.rules) == (0, 1, 64.0, "")


def test_short_forms_of_inputs_tokenizer_and_beam_args(tmp_path):
    """One URI for `inputs`, a path for `tokenizer`, numbers among `beam_args`."""
    path = write_config(tmp_path, sources=[{"name": "code", "inputs": "repo"}], tokenizer="tok.json",
                        beam_args=["--num_workers", 4])
    config = load_run_config(str(path))
    assert config.sources[0].inputs == (str(tmp_path / "repo"),)
    assert config.tokenizer.path == str(tmp_path / "tok.json")
    assert config.beam_args == ("--num_workers", "4")


def test_pack_defaults_by_kind_and_model_none_keeps_every_page(tmp_path):
    path = write_config(tmp_path, sources=[{"name": "code", "inputs": "repo"},
                                           {"name": "web", "kind": "commoncrawl", "inputs": "c.warc", "model": "none"}])
    code, web = load_run_config(str(path)).sources
    assert (code.pack, web.pack, web.model) == (True, False, "")


@pytest.mark.parametrize("overrides, message", [
    ({"output": None}, "missing key 'output'"),
    ({"sources": [{"name": "code", "inputs": ["repo"], "colour": "red"}]}, "unknown key 'sources[0].colour'"),
    ({"sources": [{"name": "a b", "inputs": ["repo"]}]}, "key 'sources[0].name': expected letters"),
    ({"sources": [{"name": "code", "inputs": []}]}, "key 'sources[0].inputs': expected a URI or a list of URIs"),
    ({"level": "dir"}, "key 'level': expected one of file, repo, got 'dir'"),
    ({"materialize": ["shards"]}, "key 'materialize': unknown stage 'shards'"),
    ({"workers": True}, "key 'workers': expected an integer, got True"),
])
def test_schema_errors_name_key_and_value(tmp_path, overrides, message):
    path = write_config(tmp_path, **overrides)
    with pytest.raises(RunConfigError) as error:
        load_run_config(str(path))
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)
