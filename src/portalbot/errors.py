"""The exception hierarchy: catch at the level you can act on.

```
PortalbotError                 every error carries payer_id and step where known
├── ConfigError                unknown payer, missing keyring entry, bad settings
│   ├── BrowserNotFound        (portalbot.browser) no Chromium to drive
│   └── UnsafePathError        (portalbot.private) a data directory others can read or write
├── ClaimError                 bad input: names the claim, the field and the fix
│   └── ClaimFileError         (portalbot.claims) the file as a whole cannot be read
├── LedgerError                an illegal transition, an unreachable ledger
│   ├── ClaimChanged           another worker moved the claim first: note it, move on
│   ├── LedgerUrlError         (portalbot.ledger.urls) a ledger URL portalbot cannot use
│   └── RequeueRefused         (portalbot.ledger) the claim's state does not allow a requeue
├── PortalError                carries the evidence path
│   ├── PortalUnavailable      refused connections, resets, 5xx, maintenance: retried
│   │   └── SessionExpired     the portal signed us out; log in again, then retry
│   ├── AuthenticationError    wrong password, locked account, MFA failure: never retried
│   ├── AdapterError           the page did not look as the adapter expects: portal drift
│   ├── FormRefused            the portal's own validation refused our form: nothing stored
│   ├── NeedsHumanError        a CAPTCHA, a forced password change: a person must act
│   └── SubmissionUncertain    submit was clicked and no outcome could be read
├── X12FileError               (portalbot.x12.reader) an X12 file that does not parse
├── ReviewError                (portalbot.review.store) a review desk request refused
└── UnknownBatch               (portalbot.report) no batch by that id
```

The subclasses named with a module live beside the code that raises them; each is a
``PortalbotError``, so ``except PortalbotError`` catches every error portalbot raises.
```

After the submit click every error but ``FormRefused`` leaves the claim ``in_doubt``:
only a page the portal shows when it stored nothing, read and named by the adapter, lets
the engine conclude that nothing was stored.

A claim the payer rejects is not an exception: it is an ``Outcome``. An exception means
no answer was obtained. Messages never carry PHI: they name claims by ``claim_id`` and
fields by their path, never by their values.
"""

from __future__ import annotations

from pathlib import Path


class PortalbotError(Exception):
    """Root of every error portalbot raises on purpose."""

    def __init__(self, message: str, *, payer_id: str | None = None, step: str | None = None):
        super().__init__(message)
        self.message = message
        self.payer_id = payer_id
        self.step = step

    def __str__(self) -> str:
        where = ", ".join(
            part for part in (
                f"payer {self.payer_id}" if self.payer_id else "",
                f"step {self.step}" if self.step else "",
            ) if part
        )
        return f"{self.message} ({where})" if where else self.message


class ConfigError(PortalbotError):
    """The settings, the payer registry or the keyring cannot support the request."""


class ClaimError(PortalbotError):
    """Bad input: the message names the claim, the field and the fix."""


class LedgerError(PortalbotError):
    """The ledger refused a change (an illegal transition) or cannot be reached."""


class ClaimChanged(LedgerError):
    """The claim is no longer as this worker saw it: another worker (or a person) moved it,
    or a newer attempt owns it. Never a reason to stop a run."""


class PortalError(PortalbotError):
    """Something went wrong talking to a payer portal; evidence may have been kept."""

    def __init__(
        self,
        message: str,
        *,
        payer_id: str | None = None,
        step: str | None = None,
        evidence: Path | None = None,
    ):
        super().__init__(message, payer_id=payer_id, step=step)
        self.evidence = evidence


class PortalUnavailable(PortalError):
    """The portal did not answer usefully (outage, 5xx, maintenance): worth retrying."""


class SessionExpired(PortalUnavailable):
    """The portal silently fell back to "signed out"; a new login makes the step retryable."""


class AuthenticationError(PortalError):
    """The portal refused our credentials; retrying could lock the account."""


class AdapterError(PortalError):
    """The page is not what the adapter expects, or our own mapping was refused."""


class FormRefused(PortalError):
    """The portal read our form and refused it on a page that proves nothing was stored
    (its validation list, a "saved as draft" banner): our mapping's fault, not the portal's.

    The one exception after the submit click that does not leave a claim in doubt; an
    adapter raises it only from what it read on the page, never from a Playwright error.
    """


class NeedsHumanError(PortalError):
    """The portal put a person's task in the way (CAPTCHA, forced password change).

    ``pause_payer`` says whether every further login would hit the same wall (a forced
    password change) so the payer should be paused, not just this claim set aside.
    """

    def __init__(
        self,
        message: str,
        *,
        payer_id: str | None = None,
        step: str | None = None,
        evidence: Path | None = None,
        pause_payer: bool = False,
    ):
        super().__init__(message, payer_id=payer_id, step=step, evidence=evidence)
        self.pause_payer = pause_payer


class SubmissionUncertain(PortalError):
    """Submit was clicked and no outcome could be read: the claim may or may not be in."""
