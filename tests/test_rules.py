"""Strict loading of rules/*.yaml."""

import shutil

import pytest

from stackpipe.rules import DEFAULT_RULES_DIR, RulesError, load_rules


@pytest.fixture
def rules_copy(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    return target


def test_bundled_rules_load():
    rules = load_rules()
    assert rules.quality.defaults.max_line_length == 1000
    assert rules.sources.max_file_bytes == 1_000_000


def test_language_override_applies_on_top_of_defaults():
    quality = load_rules().quality
    assert quality.for_language("JSON").min_alpha_fraction == 0.5
    assert quality.for_language("JSON").max_line_length == quality.defaults.max_line_length
    assert quality.for_language("Python") == quality.defaults


def test_misspelt_key_names_file_key_and_value(rules_copy):
    path = rules_copy / "quality.yaml"
    path.write_text(path.read_text().replace("max_line_length: 1000", "max_line_lenght: 1000"))
    with pytest.raises(RulesError) as error:
        load_rules(rules_copy)
    message = str(error.value)
    assert str(path) in message and "defaults.max_line_lenght" in message and "1000" in message


def test_wrong_type_names_file_key_and_value(rules_copy):
    path = rules_copy / "sources.yaml"
    path.write_text(path.read_text().replace("max_file_bytes: 1000000", "max_file_bytes: lots"))
    with pytest.raises(RulesError, match=r"sources\.yaml: key 'max_file_bytes'.*integer.*'lots'"):
        load_rules(rules_copy)


def test_unknown_key_in_language_override_is_an_error(rules_copy):
    path = rules_copy / "quality.yaml"
    path.write_text(path.read_text().replace("min_chars: 100", "min_charz: 100", 1))
    with pytest.raises(RulesError, match=r"overrides\.JSON\.min_charz"):
        load_rules(rules_copy)


def test_override_for_undefined_language_is_an_error(rules_copy):
    path = rules_copy / "quality.yaml"
    path.write_text(path.read_text() + "  Klingon: {max_chars: 10}\n")
    with pytest.raises(RulesError, match="Klingon"):
        load_rules(rules_copy)


def test_missing_rules_file_is_named(rules_copy):
    (rules_copy / "sources.yaml").unlink()
    with pytest.raises(RulesError, match=r"sources\.yaml is missing"):
        load_rules(rules_copy)


def test_invalid_yaml_is_named(rules_copy):
    (rules_copy / "quality.yaml").write_text("defaults: [unclosed\n")
    with pytest.raises(RulesError, match=r"quality\.yaml is not valid YAML"):
        load_rules(rules_copy)


def test_null_turns_a_check_off(rules_copy):
    path = rules_copy / "quality.yaml"
    path.write_text(path.read_text().replace("max_line_length: 1000", "max_line_length: null"))
    assert load_rules(rules_copy).quality.defaults.max_line_length is None


def test_missing_required_key_names_file_and_key(rules_copy):
    path = rules_copy / "fim.yaml"
    text = path.read_text()
    assert "    context_length: 8192\n" in text
    path.write_text(text.replace("    context_length: 8192\n", "", 1))
    with pytest.raises(RulesError, match=r"fim\.yaml: missing key 'families\.\w+\.context_length'"):
        load_rules(rules_copy)
