"""PII in more assignment syntaxes (stackpipe.pii): C defines, command-line options, SQL,
name/value pairs, XML elements, typed declarations, passwords holding `%`, and AWS secret
keys without a name. Each is also checked to be found the same with and without the
candidate prefilter."""

from __future__ import annotations

import dataclasses

import pytest


# Realistic values, assembled so that no secret scanner mistakes this file for a leak.
PW = "Tr0ub4" + "dor&3x"
KEY = "Y7OKRlV3V8AkWq2o" + "9PlFlBTxAZa5u-FT"
AWS_SECRET = "n6R5qibKzDoF3q+Qyxx" + "oenHFjzI/1JszEuBCp+Wz"


def found(pii_redactor, text: str) -> list[tuple[str, str]]:
    """Findings as (entity, value), after checking that the prefilter changes nothing."""
    findings = pii_redactor.find(text)
    assert findings == pii_redactor.find(text, prefilter=False)
    return [(f.entity, text[f.start:f.end]) for f in findings]


@pytest.mark.parametrize("line", [
    f'#define DB_PASSWORD "{PW}"',
    f'#  define SMTP_PASSWORD "{PW}"  /* mail relay */',
    f'char db_password[] = "{PW}";',
    f'const DB_PASSWORD: &str = "{PW}";',
    f"static DB_PASSWORD: &'static str = \"{PW}\";",
    f'var dbPassword string = "{PW}"',
    f"define('DB_PASSWORD', '{PW}');",
    f'props.setProperty("db.password", "{PW}");',
    f"mysql -u root --password={PW} app",
    f"docker login --username app --password {PW} registry.acme-corp.io",
    f'app --db-password "{PW}" --verbose',
    f"CREATE USER app IDENTIFIED BY '{PW}';",
    f"CREATE ROLE app WITH LOGIN PASSWORD '{PW}';",
    f'{{"name": "DB_PASSWORD", "value": "{PW}"}},',
    f'  <add key="DbPassword" value="{PW}" />',
    f"    <password>{PW}</password>",
])
def test_password_syntaxes_of_code_config_and_shell(pii_redactor, line):
    """The password of each syntax is found, exactly."""
    assert found(pii_redactor, "x = 1\n" + line + "\ny = 2\n") == [("password", PW)]


def test_kubernetes_env_entry_name_then_value_on_the_next_line(pii_redactor):
    text = f"env:\n  - name: DB_PASSWORD\n    value: \"{PW}\"\n  - name: DEBUG\n    value: \"1\"\n"
    assert found(pii_redactor, text) == [("password", PW)]


@pytest.mark.parametrize("line", [f'#define API_TOKEN "{KEY}"', f"static API_TOKEN: &'static str = \"{KEY}\";",
                                  f"--api-token={KEY} --verbose"])
def test_key_syntaxes_of_code_and_shell(pii_redactor, line):
    assert found(pii_redactor, line + "\n") == [("key", KEY)]


@pytest.mark.parametrize("value", ["VAyZJsb-aYMhIx", "qXbT.mRwKzPa", "Kw_PzRtVxQmB", "tj-b_TfkPh"])
def test_random_letters_joined_by_separators_are_passwords(pii_redactor, value):
    """Mixed-case random letters with `-`, `.` or `_` and no digit are a password."""
    assert found(pii_redactor, f'  "admin_password": "{value}",\n') == [("password", value)]


@pytest.mark.parametrize("value", ["Some-Random-Value", "my_secret_pass", "Get.Password.Now", "get_User_Id"])
def test_words_joined_by_separators_are_not_passwords(pii_redactor, value):
    assert found(pii_redactor, f'password = "{value}"\n') == []


@pytest.mark.parametrize("value", ["MiPmHG4hNe%s", "rCBq^Em6R%strnAsc5*", "Y3jUTl3J^e441GWzkV%d"])
def test_passwords_holding_a_printf_directive_are_passwords(pii_redactor, value):
    """`%s`/`%d` inside a random password is no template."""
    text = f'dsn = "host=db port=5432 dbname=app user=app password={value} sslmode=require"\n'
    assert found(pii_redactor, text) == [("password", value)]


@pytest.mark.parametrize("line", [
    'password = "%s"', 'password = "secret_%s"', 'DB_PASSWORD = "user%d"', 'pw = "%s:%s"',
    'dsn = "host=db user=app password=%s"',
])
def test_printf_templates_are_not_passwords(pii_redactor, line):
    assert found(pii_redactor, line + "\n") == []


@pytest.mark.parametrize("line", [
    "def login(self, password: bytearray):", "def check(pwd: bytes):", "def set_token(token: SecretStr) {",
    "    def verify(self, password: Password):",
])
def test_a_type_closing_a_parameter_list_is_not_a_password(pii_redactor, line):
    assert found(pii_redactor, line + "\n") == []


@pytest.mark.parametrize("line", [
    "--password PASSWORD", "--password $DB_PASSWORD", "--password-file /etc/app/secret",
    "# Usage: app --password <password>", "for token in tokens: pass", 'print "password" "is wrong"',
    '#define PASSWORD_PROMPT "Password: "', "- name: DB_PASSWORD\n  valueFrom: secretKeyRef",
    '<add key="DbPassword" value="{{ db_password }}" />',
    "it may be a 0d-array, pass `check_0d=True`, or", "please pass 'Tr0ub4dor&3x' here",
])
def test_placeholders_and_code_in_the_new_syntaxes_are_not_passwords(pii_redactor, line):
    assert found(pii_redactor, line + "\n") == []


@pytest.mark.parametrize("line", [
    f"# TODO: rotate {AWS_SECRET}",
    f"/* use {AWS_SECRET} */",
    f"x = 1  # old {AWS_SECRET}",
    f"; deploy {AWS_SECRET}",
    f'  "_comment": "TODO: rotate {AWS_SECRET}",',
    f"use {AWS_SECRET}",
])
def test_aws_secret_keys_without_a_name_after_a_few_words(pii_redactor, line):
    """A 40-character base64 key closing a comment, a line or a string after words."""
    assert found(pii_redactor, "x = 1\n" + line + "\n") == [("key", AWS_SECRET)]


@pytest.mark.parametrize("line", [
    f'encoded = base64.b64decode("{AWS_SECRET}")',
    f'#define EXPECTED "{AWS_SECRET}"',
    f"EXPECTED={AWS_SECRET}",
    f"# expected: {AWS_SECRET}",
    f"# MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAn6R5qibKzDoF3q+QyxxoenHF\n# {AWS_SECRET}",
    f'url = "https://example.org/{AWS_SECRET}"',
    "# sha1: 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39",
])
def test_named_passed_or_embedded_base64_is_not_an_aws_secret(pii_redactor, line):
    """Test vectors (assigned to a name, passed to a call, labelled), a base64 block's last
    line and a URL path are not keys."""
    assert found(pii_redactor, line + "\n") == []


def test_aws_secret_key_with_non_ascii_text_before_it(pii_redactor):
    """The prefilter's byte offsets are turned back into character offsets."""
    text = f"# café ✓ naïve\n# TODO: rotate {AWS_SECRET}\n"
    assert found(pii_redactor, text) == [("key", AWS_SECRET)]


def test_ipv6_prefilter_follows_a_smaller_allow_list(pii_rules):
    """Without the default allow-list's ranges, public IPv6 addresses outside 2000::/3 are
    still found (the prefilter's shortcut holds only under the default ranges)."""
    from stackpipe.pii import PiiRedactor

    narrow = dataclasses.replace(pii_rules, ip_address=dataclasses.replace(pii_rules.ip_address, allow_ranges=("10.0.0.0/8",)))
    text = 'a = "4a00:1450:4007:80f::200e"\n'
    assert found(PiiRedactor(narrow), text) == [("ip_address", "4a00:1450:4007:80f::200e")]
    assert found(PiiRedactor(pii_rules), text) == []


@pytest.mark.parametrize("line", ['"LocalConsolePassword": "PassWordMustBeAtLeast6Chars."',
                                  "    pass_dict=B2B_GEMM_PASS,"])
def test_phrases_and_constant_names_are_not_passwords(pii_redactor, line):
    """A camelCase phrase of English words, or an UPPER_SNAKE constant, assigned to a password name."""
    assert found(pii_redactor, line + "\n") == []


def test_the_made_up_address_of_examples_is_not_an_ip(pii_redactor):
    assert found(pii_redactor, "# bootstrap_servers = '123.45.67.89:9092'\n") == []


def test_a_path_of_words_closing_a_comment_is_not_an_aws_secret(pii_redactor):
    text = "# see http://functions.wolfram.com/HypergeometricFunctions/\n#     SphericalHarmonicYGeneral/26/01/02/0001/\n"
    assert found(pii_redactor, text) == []


def test_a_placeholder_word_in_mixed_case_inside_a_random_password_is_no_placeholder(pii_redactor):
    """`yoUr` inside a random password is chance, not `YOUR_PASSWORD`."""
    line = "cs = 'Driver={ODBC Driver 18};Server=db;UID=app;PWD=yoUrsxls7Z8xG_;'\n"
    assert found(pii_redactor, line) == [("password", "yoUrsxls7Z8xG_")]


def test_a_base64_value_named_as_test_data_is_no_key_despite_context_above(pii_redactor):
    """`secret` on the line before does not make `test_vector=` a secret (the S3 key is one)."""
    text = f"S3_SECRET={AWS_SECRET}\ntest_vector=XIJbD7BtUhwddomTYmjpPkR+BOSNej+tCg4RPxVl\n"
    assert found(pii_redactor, text) == [("key", AWS_SECRET)]


def test_random_passwords_with_short_camel_pieces_are_passwords(pii_redactor):
    assert found(pii_redactor, 'static const char *pwd = "QSi%l0OvE1-b";\n') == [("password", "QSi%l0OvE1-b")]


@pytest.mark.parametrize("text", ["        eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\n        .\n",
                                  f"-----BEGIN DATA-----\n{AWS_SECRET}\n-----END DATA-----\n"])
def test_base64_of_text_or_alone_on_its_line_is_not_an_aws_secret(pii_redactor, text):
    """A JOSE header (base64 of JSON) and a line holding only base64 are data."""
    assert found(pii_redactor, text) == []


def test_a_secret_name_with_a_test_word_still_holds_a_key(pii_redactor):
    assert found(pii_redactor, f'AWS_SECRET_KEY_TEST = "{AWS_SECRET}"\n') == [("key", AWS_SECRET)]
