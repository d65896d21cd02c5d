"""What the review desk is given: everything a test or a deployment may inject."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from portalbot.ledger import utcnow
from portalbot.review import auth

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class ReviewConfig:
    evidence_dir: Path
    secure_cookies: bool = False
    hsts: bool = False
    # Host headers accepted; None accepts any. Loopback by default, against DNS rebinding.
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS
    clock: Callable[[], datetime] = utcnow
    name_policy: auth.ThrottlePolicy = field(default_factory=lambda: auth.NAME_POLICY)
    address_policy: auth.ThrottlePolicy = field(default_factory=lambda: auth.ADDRESS_POLICY)
    # Rows per queue page: a month of a busy practice is thousands of attempts.
    page_size: int = 100

    @property
    def session_cookie(self) -> str:
        return "__Host-portalbot_review" if self.secure_cookies else "portalbot_review"

    @property
    def signin_cookie(self) -> str:
        return "__Host-portalbot_signin" if self.secure_cookies else "portalbot_signin"
