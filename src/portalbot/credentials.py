"""Portal credentials from the OS keyring, and one-time codes.

Secrets are stored as one keyring entry per payer account: service ``portalbot:<payer>``,
username ``<account>``, and a small JSON document as the password. The keyring backend
is the operator's choice (``PYTHON_KEYRING_BACKEND`` or keyringrc.cfg); portalbot never
reads secrets from config files, the environment of a command line, or logs them.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import keyring
import keyring.errors

from portalbot.adapters import Credentials
from portalbot.errors import ConfigError

SERVICE_PREFIX = "portalbot:"
#: The systemd credential (``LoadCredential[Encrypted]=keyring-passphrase:…``) that holds
#: the passphrase of an encrypted keyring file.
PASSPHRASE_CREDENTIAL = "keyring-passphrase"


def passphrase_from_systemd(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Hand keyrings.cryptfile its passphrase from the service's systemd credential.

    systemd puts the decrypted credential in a file under ``$CREDENTIALS_DIRECTORY``
    that only the service can read; the passphrase then lives only in this process (never
    on a command line, in a unit file or in a shell wrapper). True when it was taken.
    """
    folder = environ.get("CREDENTIALS_DIRECTORY")
    if not folder or environ.get("KEYRING_CRYPTFILE_PASSWORD"):
        return False
    credential = Path(folder) / PASSPHRASE_CREDENTIAL
    if not credential.is_file():
        return False
    environ["KEYRING_CRYPTFILE_PASSWORD"] = credential.read_text(encoding="utf-8").rstrip("\r\n")
    return True


passphrase_from_systemd()


def _service(payer_id: str) -> str:
    return f"{SERVICE_PREFIX}{payer_id}"


def _keyring_failure(payer_id: str, exc: Exception) -> ConfigError:
    if isinstance(exc, ImportError):  # PYTHON_KEYRING_BACKEND names a backend not installed
        return ConfigError(
            f"the keyring backend {os.environ.get('PYTHON_KEYRING_BACKEND', '')!r} is not "
            "installed; for keyrings.cryptfile install portalbot[keyring-file] (see the "
            "README, 'Install on a server')",
            payer_id=payer_id, step="credentials",
        )
    return ConfigError(
        f"the keyring could not be used ({type(exc).__name__}); choose a backend with "
        "PYTHON_KEYRING_BACKEND (see the README, 'Credentials')",
        payer_id=payer_id,
        step="credentials",
    )


def store(payer_id: str, account: str, credentials: Credentials) -> None:
    document: dict[str, Any] = {"username": credentials.username, "password": credentials.password}
    if credentials.totp_secret:
        document["totp_secret"] = credentials.totp_secret
    if credentials.fields:
        document["fields"] = dict(credentials.fields)
    try:
        keyring.set_password(_service(payer_id), account, json.dumps(document))
    except (keyring.errors.KeyringError, ImportError) as exc:
        raise _keyring_failure(payer_id, exc) from None


def lookup(payer_id: str, account: str) -> Credentials:
    """The account's credentials; ConfigError naming the fix when they are missing."""
    try:
        raw = keyring.get_password(_service(payer_id), account)
    except (keyring.errors.KeyringError, ImportError) as exc:
        raise _keyring_failure(payer_id, exc) from None
    if raw is None:
        raise ConfigError(
            f"no credentials for account {account!r} in the keyring; run "
            f"`portalbot credentials set {payer_id} --account {account}`",
            payer_id=payer_id,
            step="credentials",
        )
    try:
        document = json.loads(raw)
        fields = document.get("fields", {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items()):
            raise TypeError("login fields must be text")
        return Credentials(
            username=document["username"],
            password=document["password"],
            totp_secret=document.get("totp_secret"),
            fields=fields,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(
            f"the keyring entry for account {account!r} is not portalbot's; set it again with "
            f"`portalbot credentials set {payer_id} --account {account}`",
            payer_id=payer_id,
            step="credentials",
        ) from None


def delete(payer_id: str, account: str) -> bool:
    try:
        keyring.delete_password(_service(payer_id), account)
    except keyring.errors.PasswordDeleteError:
        return False
    except (keyring.errors.KeyringError, ImportError) as exc:
        raise _keyring_failure(payer_id, exc) from None
    return True
