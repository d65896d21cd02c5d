"""The keyring entry: one JSON document per payer account, in the isolated test keyring."""

from __future__ import annotations

import keyring
import pytest
from click.testing import CliRunner

from portalbot import credentials
from portalbot.adapters import Credentials
from portalbot.cli import main as portalbot
from portalbot.errors import ConfigError


def test_login_fields_are_kept_beside_the_password() -> None:
    stored = Credentials("NSFM01", "pw", None, fields={"npi": "1234567893", "ptan": "KS4821"})
    credentials.store("keystone", "fields-test", stored)

    found = credentials.lookup("keystone", "fields-test")

    assert found == stored
    assert "pw" not in repr(found)


def test_a_keyring_entry_with_malformed_login_fields_names_the_fix() -> None:
    keyring.set_password("portalbot:keystone", "broken-fields",
                         '{"username": "u", "password": "p", "fields": {"npi": 12}}')
    with pytest.raises(ConfigError, match="credentials set keystone --account broken-fields"):
        credentials.lookup("keystone", "broken-fields")


def test_credentials_set_asks_for_the_portals_login_fields_after_the_password() -> None:
    result = CliRunner().invoke(
        portalbot,
        ["credentials", "set", "keystone", "--account", "cli-fields", "--username", "NSFM01",
         "--password-stdin"],
        input="Keystone-pass-1\n1234567893\nks4821 \n",
    )

    assert result.exit_code == 0, result.output
    found = credentials.lookup("keystone", "cli-fields")
    assert (found.username, found.password) == ("NSFM01", "Keystone-pass-1")
    assert found.fields == {"npi": "1234567893", "ptan": "ks4821"}
