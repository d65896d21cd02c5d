"""portalbot.portal: everything an adapter author imports, from one module.

- the contract: ``PortalAdapter``, ``PortalForm``, ``Case``, ``Credentials``, ``Filing``;
- the errors and outcomes an adapter raises and returns;
- the toolkit (``portalbot.portal.kit``): ``navigate`` (5xx and outage pages →
  ``PortalUnavailable``, a bounce to sign-in → ``SessionExpired``), ``visible_text`` and
  ``page_text``, places (``heading``, ``alert``, ``status``, ``term``, ``text``, ``items``)
  with ``required`` reads (missing → ``SubmissionUncertain``) and ``optional`` ones (never
  fail), the limit guards ``check_member_id`` / ``check_limits`` (``ClaimError`` naming
  the field), ``FREQUENCY_CODES``, and ``fill_by_label`` / ``table_rows`` /
  ``definition_list``, scoped to the page, a frame or one container;
- the declarative "labelled form" shape (``portalbot.portal.labelled``): ``SignIn``,
  ``ClaimForm``, the field map (``Box``, ``key``, ``tick``, ``Each`` and the formats, in
  ``portalbot.portal.fields``), the outcome recognisers (``When``, ``Read``,
  ``OnAccepted`` … ``OnDraft``, in ``portalbot.portal.recognise``), ``HistorySearch``
  and ``StatusPage`` (in ``portalbot.portal.searches``)
  and the base class ``LabelledFormAdapter`` that runs them; ``TableFormAdapter`` for
  legacy table layouts without labels (``cell_field``, ``Grid``, in
  ``portalbot.portal.tables``); ``WizardAdapter`` for a claim wizard in a single-page
  app (``Step``, ``Review``, ``OneTimeCode``, in ``portalbot.portal.wizard``);
- ``ClaimRefs``: what a status check is given to find the claim by.
"""

from portalbot.adapters import Case, ClaimRefs, Credentials, Filing, PortalAdapter, PortalForm
from portalbot.claims import Claim
from portalbot.errors import (
    AdapterError,
    AuthenticationError,
    ClaimError,
    FormRefused,
    NeedsHumanError,
    PortalError,
    PortalUnavailable,
    SessionExpired,
    SubmissionUncertain,
)
from portalbot.outcomes import Accepted, Denied, Duplicate, Outcome, Paid, Pending, Rejected
from portalbot.pagekit import definition_list, fill_by_label, table_rows
from portalbot.portal.fields import (
    Box,
    Each,
    FieldMap,
    Row,
    autocomplete,
    date_as,
    digits,
    first,
    frequency,
    iso,
    joined,
    key,
    letters,
    mdy,
    mmddyyyy,
    money,
    no_dot,
    plain,
    radio,
    tick,
    unless_self,
    upper,
)
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
from portalbot.portal.labelled import (
    ClaimForm,
    LabelledForm,
    LabelledFormAdapter,
    OneTimeCode,
    SignIn,
)
from portalbot.portal.recognise import (
    OnAccepted,
    OnDraft,
    OnDuplicate,
    OnPending,
    OnRefused,
    OnRejected,
    Read,
    Recogniser,
    When,
)
from portalbot.portal.searches import HistorySearch, StatusPage
from portalbot.portal.tables import Grid, TableFormAdapter, caption, cell_field
from portalbot.portal.wizard import Review, Step, WizardAdapter

__all__ = [
    "FREQUENCY_CODES",
    "OUTAGE_TITLES",
    "PAGE",
    "Accepted",
    "AdapterError",
    "AuthenticationError",
    "Box",
    "Case",
    "Claim",
    "ClaimError",
    "ClaimForm",
    "ClaimRefs",
    "Container",
    "Credentials",
    "Denied",
    "Duplicate",
    "Each",
    "FieldMap",
    "Filing",
    "FormRefused",
    "Grid",
    "HistorySearch",
    "LabelledForm",
    "LabelledFormAdapter",
    "NeedsHumanError",
    "OnAccepted",
    "OnDraft",
    "OnDuplicate",
    "OnPending",
    "OnRefused",
    "OnRejected",
    "OneTimeCode",
    "Outcome",
    "Paid",
    "Pending",
    "Place",
    "PortalAdapter",
    "PortalError",
    "PortalForm",
    "PortalUnavailable",
    "Read",
    "Recogniser",
    "Refusal",
    "Rejected",
    "Review",
    "Row",
    "Scope",
    "SessionExpired",
    "SignIn",
    "StatusPage",
    "Step",
    "SubmissionUncertain",
    "TableFormAdapter",
    "When",
    "WizardAdapter",
    "alert",
    "autocomplete",
    "caption",
    "cell_field",
    "check_limits",
    "check_member_id",
    "date_as",
    "definition_list",
    "digits",
    "fill_by_label",
    "first",
    "frequency",
    "frequency_code",
    "heading",
    "iso",
    "items",
    "joined",
    "key",
    "letters",
    "mdy",
    "mmddyyyy",
    "money",
    "navigate",
    "no_dot",
    "optional",
    "page_text",
    "pick",
    "plain",
    "radio",
    "raise_if_down",
    "required",
    "sign_in_refused",
    "status",
    "table_rows",
    "term",
    "text",
    "tick",
    "unless_self",
    "upper",
    "visible_text",
]
