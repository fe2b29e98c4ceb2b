"""E-mail policy (stackpipe.pii, rules pii.yaml `email`): a person's address is PII, in a
header too; role mailboxes, mailing lists, SSH remotes and templates are not."""

from __future__ import annotations

import dataclasses

import pytest


def emails(pii_redactor, text: str) -> list[str]:
    return [text[f.start:f.end] for f in pii_redactor.find(text) if f.entity == "email"]


@pytest.mark.parametrize("line", [
    "# Author: Jane Doe <jane.doe@acme-corp.io>",
    '"author": "Dan Gohman <dan.gohman@gmail.com>",',
    "__maintainer__ = 'jdev@acme-corp.io'",
    "# devon@acme-corp.io wrote this",
    "# contact jane+python@gmail.com",
])
def test_a_persons_address_is_redacted_even_in_a_header(pii_redactor, line):
    assert len(emails(pii_redactor, line + "\n")) == 1


@pytest.mark.parametrize("address", [
    "postmaster@acme-corp.io", "abuse@acme-corp.io", "security@python.org", "webmaster@python.org",
    "info@acme-corp.io", "support@acme-corp.io", "noreply@github.com", "no-reply@acme-corp.io",
    "Do-Not-Reply@acme-corp.io", "noreply+12345@acme-corp.io", "bugs@python.org", "bug-gnulib@gnu.org",
    "maintainers@acme-corp.io", "dev@acme-corp.io", "licensing@acme-corp.io", "privacy@acme-corp.io",
])
def test_role_mailboxes_are_kept(pii_redactor, address):
    """RFC 2142 and common role mailboxes are not personal data (case and `+tag` ignored)."""
    assert emails(pii_redactor, f"# Report problems to <{address}>\n") == []


@pytest.mark.parametrize("address", [
    "python-list@python.org", "python-dev@python.org", "numpy-discussion-discuss@acme-corp.io",
    "tool-users@acme-corp.io", "tool-announce@acme-corp.io", "tool-devel@acme-corp.io",
    "mailman-owner@acme-corp.io", "tool-request@acme-corp.io", "jane@lists.acme-corp.io",
    "pylons-discuss@googlegroups.com", "anything@googlegroups.com", "team-x@groups.io",
])
def test_mailing_lists_are_kept(pii_redactor, address):
    assert emails(pii_redactor, f"# Discussion: {address}\n") == []


@pytest.mark.parametrize("line", [
    'url = "git@github.com:owner/repo.git"',
    'to = "%(user)s@acme-corp.io"',
    'to = "%s@gmail.com" % name',
    'to = f"{user}@acme-corp.io"',
    'to = "${USER}@acme-corp.io"',
    "to = '<user>@acme-corp.io'",
])
def test_ssh_remotes_and_templates_are_kept(pii_redactor, line):
    assert emails(pii_redactor, line + "\n") == []


def test_a_role_word_inside_a_longer_local_part_is_still_personal(pii_redactor):
    """`info.jane`, `jane-info` name a person: only whole local parts (or list suffixes) count."""
    assert emails(pii_redactor, "a = 'info.jane@gmail.com'; b = 'jane-info@gmail.com'\n") == [
        "info.jane@gmail.com", "jane-info@gmail.com"]


def test_allow_list_entries_with_a_star_in_the_middle_are_an_error(pii_rules):
    from stackpipe.pii import PiiRedactor

    bad = dataclasses.replace(pii_rules, email=dataclasses.replace(pii_rules.email, allow_local_parts=("bug*list",)))
    with pytest.raises(ValueError, match=r"allow_local_parts.*bug\*list"):
        PiiRedactor(bad)


def test_an_address_followed_by_a_path_is_not_an_address(pii_redactor):
    """`\\x01Z@google.golang.org/genproto/...` in a serialized descriptor is a Go package path."""
    assert emails(pii_redactor, 'b"\\x01Z@google.golang.org/genproto/googleapis/type"\n') == []


def test_example_under_any_suffix_is_a_stand_in(pii_redactor):
    assert emails(pii_redactor, "['john.doe@example.co.uk', 'jane@mail.example.de']\n") == []
