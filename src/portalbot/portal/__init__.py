"""portalbot.portal: everything an adapter author imports, from one module.

- the contract: ``PortalAdapter``, ``PortalForm``, ``Case``, ``Credentials``, ``Filing``;
- the errors and outcomes an adapter raises and returns;
- the toolkit (``portalbot.portal.kit``): ``navigate`` (5xx and outage pages →
  ``PortalUnavailable``, a bounce to sign-in → ``SessionExpired``), ``visible_text`` and
  ``page_text``, places (``heading``, ``alert``, ``status``, ``term``, ``text``, ``items``)
  with ``required`` reads (missing → ``SubmissionUncertain``) and ``optional`` ones (never
  fail), the limit guards ``check_member_id`` / ``check_limits`` (``ClaimError`` naming
  the field), ``FREQUENCY_CODES``, and ``fill_by_label`` / ``table_rows`` /
  ``definition_list``, scoped to the page, a frame or one container.
"""

from portalbot.adapters import Case, Credentials, Filing, PortalAdapter, PortalForm
from portalbot.claims import Claim
from portalbot.errors import (
    AdapterError,
    AuthenticationError,
    ClaimError,
    FormRefused,
    NeedsHumanError,
    PortalUnavailable,
    SessionExpired,
    SubmissionUncertain,
)
from portalbot.outcomes import Accepted, Denied, Duplicate, Outcome, Paid, Pending, Rejected
from portalbot.pagekit import definition_list, fill_by_label, table_rows
from portalbot.portal.kit import (
    FREQUENCY_CODES,
    OUTAGE_TITLES,
    PAGE,
    Container,
    Place,
    Refusal,
    Scope,
    alert,
    check_limits,
    check_member_id,
    frequency_code,
    heading,
    items,
    navigate,
    optional,
    page_text,
    pick,
    raise_if_down,
    required,
    sign_in_refused,
    status,
    term,
    text,
    visible_text,
)

__all__ = [
    "FREQUENCY_CODES",
    "OUTAGE_TITLES",
    "PAGE",
    "Accepted",
    "AdapterError",
    "AuthenticationError",
    "Case",
    "Claim",
    "ClaimError",
    "Container",
    "Credentials",
    "Denied",
    "Duplicate",
    "Filing",
    "FormRefused",
    "NeedsHumanError",
    "Outcome",
    "Paid",
    "Pending",
    "Place",
    "PortalAdapter",
    "PortalForm",
    "PortalUnavailable",
    "Refusal",
    "Rejected",
    "Scope",
    "SessionExpired",
    "SubmissionUncertain",
    "alert",
    "check_limits",
    "check_member_id",
    "definition_list",
    "fill_by_label",
    "frequency_code",
    "heading",
    "items",
    "navigate",
    "optional",
    "page_text",
    "pick",
    "raise_if_down",
    "required",
    "sign_in_refused",
    "status",
    "table_rows",
    "term",
    "text",
    "visible_text",
]
