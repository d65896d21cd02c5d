"""The field map: each portal field declared once — its name, its label, its value, its format.

A declarative adapter lists its claim form as ``Box`` es (one labelled field, fed by a
claim expression and a format) and ``Each`` es (a repeating group: the diagnoses, the
service lines), plus ``tick`` s (boxes always checked). From that one declaration come
the form model (``form_model``: a ``PortalForm`` whose field names are the portal's),
the mapping (``values``: a claim and its filing → the form) and the fill (``labels``:
the form → {label: value}, per container).

A claim expression is a dotted path — ``"patient.birth_date"``, ``"filing.portal_key"``,
inside a group ``"date_of_service"`` (on the line) or ``"."`` (the item itself) — or a
function of the claim (``Row``: the claim and the filing; the item inside a group).
A path that meets ``None`` gives ``None``, which every format shows as ``""``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import Field, create_model

from portalbot.adapters import Filing, PortalForm
from portalbot.claims import Claim
from portalbot.portal.kit import FREQUENCY_CODES

LETTERS = "ABCDEFGHIJKL"
Format = Callable[[Any], str]
Expr = str | Callable[[Any], Any]


# --- formats ---------------------------------------------------------------------------

def plain(value: Any) -> str:
    return "" if value is None else str(value)


def date_as(style: str) -> Format:
    """A date in the portal's style (``"%m/%d/%Y"``, ``"%m%d%Y"``, ``"%Y-%m-%d"``)."""
    def fmt(value: date | None) -> str:
        return value.strftime(style) if value else ""
    return fmt


mdy = date_as("%m/%d/%Y")
mmddyyyy = date_as("%m%d%Y")
iso = date_as("%Y-%m-%d")


def digits(value: Any) -> str:
    """Digits only: a tax ID without its dash, a phone number without its punctuation."""
    return "".join(c for c in plain(value) if c.isdigit())


def money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def upper(value: Any) -> str:
    return plain(value).upper()


def no_dot(value: Any) -> str:
    """A diagnosis code without its dot, as legacy portals want (E11.9 → E119)."""
    return plain(value).replace(".", "").upper()


def letters(value: Iterable[int]) -> str:
    """Diagnosis pointers as the letters A–L (CMS-1500 box 24E): [1, 3] → "AC"."""
    return "".join(LETTERS[p - 1] for p in value)


def joined(separator: str, most: int | None = None, each: Format = plain) -> Format:
    """A list as one box: ``joined(",")`` pointers "1,2"; ``joined(" ")`` modifiers."""
    def fmt(value: Iterable[Any] | None) -> str:
        return separator.join(each(v) for v in list(value or [])[:most])
    return fmt


def first(value: Iterable[Any] | None) -> str:
    """The first of a list (one modifier box), "" when empty."""
    return next((plain(v) for v in value or []), "")


def frequency(value: str) -> str:
    """The filing's frequency as its code: original 1, replacement 7, void 8."""
    return FREQUENCY_CODES[value]


# --- expressions -------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """What a top-level expression reads: the claim and how the ledger files it."""

    claim: Claim
    filing: Filing

    def __getattr__(self, name: str) -> Any:
        return getattr(self.claim, name)


def resolve(expr: Expr, context: Any) -> Any:
    if callable(expr):
        return expr(context)
    if expr == ".":
        return context
    value = context
    for part in expr.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def unless_self(expr: str) -> Callable[[Row], Any]:
    """The insured's own details, left empty when the patient is the subscriber."""
    return lambda row: None if row.subscriber.relationship == "self" else resolve(expr, row)


# --- declarations --------------------------------------------------------------------------

@dataclass(frozen=True)
class Box:
    """One labelled field: ``name`` is the portal's own (the form model's field), ``label``
    the text a person reads beside it (inside a group: ``{n}`` the item's number, ``{letter}``
    its letter), ``value`` a claim expression, ``fmt`` its format, ``pattern`` what the
    formatted value must look like (a ``ClaimError``-free check of our own mapping)."""

    name: str
    label: str
    value: Expr
    fmt: Format = plain
    pattern: str | None = None
    portal_key: bool = False
    kind: str = "text"
    """``"text"`` (a box, a list, a checkbox), ``"radio"`` (``label`` names the radio group,
    ``options`` the button each value picks) or ``"autocomplete"`` (typed, then the
    suggestion starting with the value is picked, as a person must)."""
    options: tuple[tuple[str, str], ...] = ()


def key(name: str, label: str, pattern: str = r"^[A-Z0-9]{1,14}$") -> Box:
    """The box that carries the portal key, which the portal keeps and shows back."""
    return Box(name, label, "filing.portal_key", pattern=pattern, portal_key=True)


def tick(label: str) -> Box:
    """A checkbox always ticked (accept assignment, signature on file): not in the model."""
    return Box("", label, lambda _row: True)


def radio(name: str, label: str, value: Expr, options: dict[str, str]) -> Box:
    """A radio group: the claim's value picks the button labelled ``options[value]``."""
    return Box(name, label, value, kind="radio", options=tuple(options.items()))


def autocomplete(name: str, label: str, value: Expr, pattern: str | None = None) -> Box:
    """A combobox that takes only a choice from its suggestions (a procedure code)."""
    return Box(name, label, value, pattern=pattern, kind="autocomplete")


@dataclass(frozen=True)
class Each:
    """A repeating group: one set of boxes per item of ``source`` (``"diagnoses"``,
    ``"service_lines"``), at most ``most`` of them. One unnamed box makes the group a
    tuple of strings (the diagnoses); named boxes a tuple of small models (the lines).
    ``within``: the accessible name of each item's container (a fieldset's legend,
    ``"Line {n}"``) when the labels repeat per item and are unique only inside it.
    ``add``: the button that adds another item ("Add service line"), pressed before
    each item after the first — the "add another line" kind of a wizard step."""

    name: str
    source: str
    boxes: tuple[Box, ...]
    most: int
    least: int = 0
    within: str | None = None
    add: str | None = None

    @property
    def flat(self) -> bool:
        return len(self.boxes) == 1 and not self.boxes[0].name


FieldMap = tuple[Box | Each, ...]


# --- what the declaration gives ---------------------------------------------------------------

def _slot(box: Box) -> tuple[Any, Any]:
    return (str, Field(pattern=box.pattern) if box.pattern else ...)


def form_model(name: str, fields: FieldMap, base: type[PortalForm] = PortalForm) -> Any:
    """The portal's form as a model: one string per box, a tuple per group."""
    slots: dict[str, Any] = {}
    for spec in fields:
        if isinstance(spec, Box):
            if spec.name:
                slots[spec.name] = _slot(spec)
            continue
        if spec.flat:
            item: Any = str
        else:
            boxes: dict[str, Any] = {box.name: _slot(box) for box in spec.boxes}
            item = create_model(f"{name}{spec.name.title()}", __base__=PortalForm, **boxes)
        slots[spec.name] = (tuple[item, ...], Field(min_length=spec.least, max_length=spec.most))
    return create_model(name, __base__=base, **slots)


def values(fields: FieldMap, claim: Claim, filing: Filing) -> dict[str, Any]:
    """The claim in the portal's fields and formats (input for ``form_model``)."""
    row = Row(claim, filing)
    found: dict[str, Any] = {}
    for spec in fields:
        if isinstance(spec, Box):
            if spec.name:
                found[spec.name] = spec.fmt(resolve(spec.value, row))
            continue
        things = resolve(spec.source, row) or []
        if spec.flat:
            box = spec.boxes[0]
            found[spec.name] = tuple(box.fmt(resolve(box.value, thing)) for thing in things)
        else:
            found[spec.name] = tuple(
                {box.name: box.fmt(resolve(box.value, thing)) for box in spec.boxes}
                for thing in things
            )
    return found


@dataclass
class Fill:
    """Labels to fill in one container (None: the whole form): the container's accessible
    ``role`` and name, the button to ``add`` it first, its autocomplete ``picks``."""

    within: str | None
    labels: dict[str, str | bool] = field(default_factory=dict)
    role: str = "group"
    add: str | None = None
    picks: dict[str, str] = field(default_factory=dict)

    def put(self, box: Box, label: str, shown: str | bool) -> Fill | None:
        """Take one box's value; a radio group is a container of its own, returned."""
        if shown == "":
            return None
        if box.kind == "radio":
            return Fill(label, {dict(box.options)[str(shown)]: True}, role="radiogroup")
        if box.kind == "autocomplete":
            self.picks[label] = str(shown)
        else:
            self.labels[label] = shown
        return None


def labels(fields: FieldMap, form: PortalForm) -> Iterator[Fill]:
    """The form as {label: value} per container. Empty text is left out: the form is
    fresh, an empty box needs no typing (and may be one the portal dropped)."""
    whole = Fill(None)
    groups: list[Fill] = []
    for spec in fields:
        if isinstance(spec, Box):
            shown = getattr(form, spec.name) if spec.name else resolve(spec.value, None)
            groups.extend(g for g in [whole.put(spec, spec.label, shown)] if g)
            continue
        for number, item in enumerate(getattr(form, spec.name), start=1):
            names = {"n": number, "letter": LETTERS[number - 1] if number <= len(LETTERS) else ""}
            own = spec.within is not None or spec.add is not None
            target = Fill(spec.within.format(**names) if spec.within else None,
                          add=spec.add if number > 1 else None) if own else whole
            for box in spec.boxes:
                shown = item if spec.flat else getattr(item, box.name)
                groups.extend(g for g in [target.put(box, box.label.format(**names), shown)] if g)
            if target is not whole:
                groups.append(target)
    yield whole
    yield from groups


def portal_key_name(fields: FieldMap) -> str | None:
    """The name of the box that carries the portal key, as the portal stores it."""
    return next((b.name for b in fields if isinstance(b, Box) and b.portal_key), None)
