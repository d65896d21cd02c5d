"""The text of a draft adapter, from the fields ``form_reader`` read off a live form.

The draft takes the portal's *shape* from how its fields are named: mostly by caption
cells and grid columns → a ``TableFormAdapter`` (lines as grid rows, ``within="{n}"``;
the frame it lives in); fields spread over several steps, some hidden → a
``WizardAdapter`` with one ``Step`` per step heading, the last a ``Review``; else a
``LabelledFormAdapter``. Each field is listed with its label, type, options and required
flag, mapped where the label is a known one (``KNOWN``) and marked ``# TODO`` where
not; "Diagnosis A…" and "Line 1 …" labels become repeating groups; the outcome
recognisers are placeholders to fill in. The draft always imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from portalbot.authoring.form_reader import FormField

# label pattern → (claim expression, format); group labels lose their "Line N" first.
KNOWN: tuple[tuple[str, str, str], ...] = (
    (r"account|control no|your (claim )?reference", "KEY", ""),
    (r"insured.*last|subscriber.*last", 'pb.unless_self("subscriber.last_name")', ""),
    (r"insured.*first|subscriber.*first", 'pb.unless_self("subscriber.first_name")', ""),
    (r"(insured|subscriber).*(birth|dob)", 'pb.unless_self("subscriber.birth_date")', "DATE"),
    (r"last name", '"patient.last_name"', ""),
    (r"first name", '"patient.first_name"', ""),
    (r"birth|dob", '"patient.birth_date"', "DATE"),
    (r"\bsex\b|gender", '"patient.sex"', ""),
    (r"street|address", '"patient.address.line1"', ""),
    (r"\bcity\b", '"patient.address.city"', ""),
    (r"\bstate\b", '"patient.address.state"', ""),
    (r"\bzip|postal", '"patient.address.postal_code"', ""),
    (r"member|subscriber id|\bmbi\b|beneficiary", '"subscriber.member_id"', ""),
    (r"group (number|no)", '"subscriber.group_number"', ""),
    (r"relationship", '"subscriber.relationship"', ""),
    (r"rendering.*npi", '"rendering_provider.npi"', ""),
    (r"\bnpi\b", '"billing_provider.npi"', ""),
    (r"provider name|billing provider", '"billing_provider.name"', ""),
    (r"tax id|\btin\b|\bein\b", '"billing_provider.tax_id"', "pb.digits"),
    (r"frequency|claim type", '"filing.frequency"', "pb.frequency"),
    (r"original.*(claim|icn)|\bicn\b", '"filing.original_claim_number"', ""),
)
LINE_KNOWN: tuple[tuple[str, str, str], ...] = (
    (r"date of service|\bdos\b|\bfrom\b|\bto\b|service date", '"date_of_service"', "DATE"),
    (r"place of service|\bpos\b", '"place_of_service"', ""),
    (r"cpt|hcpcs|procedure", '"code"', ""),
    (r"modifier|\bmod\b", '"modifiers"', 'pb.joined(" ")'),
    (r"units", '"units"', ""),
    (r"charge", '"charge"', "pb.money"),
    (r"pointer|dx ptr", '"diagnosis_pointers"', "pb.letters"),
)
DIAGNOSIS = re.compile(r"^(?P<stem>.*diagnosis\D*?)\s*(?P<at>[A-L]|\d{1,2})$", re.IGNORECASE)
LINE = re.compile(r"^(?P<head>(?:service )?line)\s+(?P<n>\d+)\s+(?P<rest>.+)$", re.IGNORECASE)


def shape(fields: list[FormField]) -> str:
    """``table``, ``wizard`` or ``labelled``: the base class the draft's portal needs."""
    if 2 * sum(f.how in ("cell", "column") for f in fields) > len(fields):
        return "table"
    if len({f.step for f in fields if f.step}) >= 2 and any(f.hidden for f in fields):
        return "wizard"
    return "labelled"


def _date_format(field: FormField) -> str:
    if field.type == "date":
        return "pb.iso"
    return "pb.mmddyyyy" if "mmddyyyy" in field.label.lower() else "pb.mdy"


def _known(label: str, table: tuple[tuple[str, str, str], ...],
           field: FormField) -> tuple[str, str] | None:
    for pattern, expr, fmt in table:
        if re.search(pattern, label, re.IGNORECASE):
            return expr, (_date_format(field) if fmt == "DATE" else fmt)
    return None


def _slug(label: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or "field"
    base = f"f_{base}" if base[0].isdigit() else base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _about(field: FormField) -> str:
    parts = [field.type, "required" if field.required else "optional"]
    if field.options:
        parts.append("options: " + ", ".join(field.options[:8])
                     + (" …" if len(field.options) > 8 else ""))
    return "; ".join(parts)


def _buttons(options: tuple[str, ...]) -> dict[str, str]:
    """A radio group's buttons keyed by their first letter (F/M/U), else by their text."""
    firsts = [o[:1].upper() for o in options]
    unique = len(set(firsts)) == len(firsts)
    return {(f if unique else o): o for f, o in zip(firsts, options, strict=True)}


def _box(name: str, label: str, field: FormField, mapping: tuple[str, str] | None,
         indent: str) -> tuple[str, bool]:
    """One field's line of the draft and whether it is mapped."""
    about = f"  # {_about(field)}"
    if field.type == "checkbox":
        return f"{indent}pb.tick({label!r}),{about} — TODO: always ticked?", False
    if mapping is None:
        return (f'{indent}Box({name!r}, {label!r}, lambda _row: ""),{about} — TODO: map it',
                False)
    expr, fmt = mapping
    if expr == "KEY":
        return f"{indent}pb.key({name!r}, {label!r}),{about} — carries the portal key", True
    if field.type == "radio":
        return (f"{indent}pb.radio({name!r}, {label!r}, {expr}, {_buttons(field.options)!r}),"
                f"{about} — TODO: the claim's value for each button", True)
    if field.type == "combobox":
        return f"{indent}pb.autocomplete({name!r}, {label!r}, {expr}),{about}", True
    return f"{indent}Box({name!r}, {label!r}, {expr}{', ' + fmt if fmt else ''}),{about}", True


@dataclass
class Part:
    """The draft's lines for one container: the whole form, or one wizard step."""

    table: bool
    indent: str = " " * 8
    rows: list[str] = field(default_factory=list)
    diagnoses: list[FormField] = field(default_factory=list)
    lines: dict[str, FormField] = field(default_factory=dict)
    numbers: set[str] = field(default_factory=set)
    mapped: int = 0
    taken: set[str] = field(default_factory=set)

    def take(self, field: FormField) -> None:
        if DIAGNOSIS.match(field.label) and field.type not in ("checkbox", "radio"):
            self.diagnoses.append(field)
        elif self.table and field.how == "column":
            self.numbers.add(field.row)
            self.lines.setdefault(field.column, field)
        elif line := LINE.match(field.label):
            self.numbers.add(line["n"])
            self.lines.setdefault(f"{line['head']} {{n}} {line['rest']}", field)
        else:
            row, ok = _box(_slug(field.label, self.taken), field.label, field,
                           _known(field.label, KNOWN, field), self.indent)
            self.rows.append(row)
            self.mapped += ok

    def text(self) -> str:
        rows, box, group = list(self.rows), self.indent, self.indent + "    "
        if self.diagnoses:
            dx = DIAGNOSIS.match(self.diagnoses[0].label)
            assert dx is not None
            at = "{letter}" if dx["at"].isalpha() else "{n}"
            count = len(self.diagnoses)
            rows.append(f'{box}Each("diagnoses", "diagnoses", (Box("", "{dx["stem"].strip()} '
                        f'{at}", "."),), most={count}),  # {count} boxes')
            self.mapped += count
        if self.lines:
            rows.append(f'{box}Each("lines", "service_lines", (')
            taken: set[str] = set()
            for label, field in self.lines.items():
                rest = label if self.table else label.split("{n}", 1)[1].strip()
                row, ok = _box(_slug(rest, taken), label, field,
                               _known(rest, LINE_KNOWN, field), group)
                rows.append(row)
                self.mapped += ok * len(self.numbers)
            add = next((f.add for f in self.lines.values() if f.add), "")
            tail = ', within="{n}"' if self.table else (f", add={add!r}" if add else "")
            todo = f"  # TODO: most: the lines {add!r} can add" if add else ""
            rows.append(f"{box}), most={max(len(self.numbers), 1)}, least=1{tail}),{todo}")
        return "\n".join(rows)


def _steps(fields: list[FormField]) -> tuple[str, int, str]:
    """A wizard's ``steps = (...)`` body, its mapped count and its first step's heading."""
    order: dict[str, Part] = {}
    levels: dict[str, int] = {}
    for f in fields:
        order.setdefault(f.step, Part(table=False, indent=" " * 12)).take(f)
        levels.setdefault(f.step, f.level)
    out = []
    for n, (title, part) in enumerate(order.items(), start=1):
        last = n == len(order)
        kind = "pb.Review" if last else "Step"
        ready = f"pb.heading({title!r}, level={levels[title] or 1})"
        todo = ("  # TODO: shows=(the summary terms that must read what was entered)" if last
                else '  # TODO: next="…" if its button does not read "Next"')
        out.append(f"        {kind}({ready}, (\n{part.text()}\n        )),{todo}")
    first = next(iter(order))
    return "\n".join(out), sum(p.mapped for p in order.values()), \
        f"pb.heading({first!r}, level={levels[first] or 1})"


def render(payer_id: str, base_url: str, form_path: str, sign_in_path: str,
           fields: list[FormField], frame: str | None = None) -> tuple[str, int]:
    """The draft module's text and how many fields it mapped."""
    kind = shape(fields)
    extra: list[str] = []
    ready = "pb.heading()"
    if kind == "wizard":
        steps, mapped, ready = _steps(fields)
        body = f"    steps = (\n{steps}\n    )"
        base = "WizardAdapter"
    else:
        part = Part(table=kind == "table")
        for f in fields:
            part.take(f)
        body = f"    fields = (\n{part.text()}\n    )"
        mapped = part.mapped
        base = "TableFormAdapter" if kind == "table" else "LabelledFormAdapter"
        first = next((f.first for f in fields if f.how == "column" and f.first), "Ln")
        if kind == "table" and first != "Ln":
            extra.append(f"    grid_first_column = {first!r}  # the lines grid's first header")
    if frame:
        extra.append(f"    frame = {frame!r}  # the frame the portal's pages live in")
    name = "".join(p.title() for p in re.split(r"[^a-zA-Z0-9]+", payer_id) if p) + "Adapter"
    text = TEMPLATE.format(payer_id=payer_id, name=name, base_url=base_url, count=len(fields),
                           sign_in=sign_in_path, form=form_path, body=body, base=base,
                           ready=ready, names="Box, Each, Read, Step, When" if kind == "wizard"
                           else "Box, Each, Read, When", extra="".join(f"{line}\n" for line in extra))
    return text, mapped


TEMPLATE = '''"""DRAFT written by `portalbot scaffold {payer_id}` from the live claim form ({count} fields).

Edit it into the adapter: map every field marked TODO, fill in the outcome recognisers
from the pages after the click, declare cases (see the README, "Adding a payer"), then
run `portalbot check {payer_id}`.
"""

from __future__ import annotations

from typing import ClassVar

from portalbot import portal as pb
from portalbot.portal import {names}


class {name}(pb.{base}):
    payer_id = "{payer_id}"
    display_name = "{payer_id}"  # TODO: the payer's name as billers know it
    default_base_url = "{base_url}"
{extra}    cases: ClassVar[tuple[pb.Case, ...]] = ()  # TODO: one Case per outcome to prove
    sign_in = pb.SignIn("{sign_in}", "Sign in", pb.Place(role="button", name="Sign out"))
    # TODO: the sign-in button, what a signed-in page shows, its refusal texts
    claim_form = pb.ClaimForm("{form}", {ready}, "Submit")  # TODO: ready marker, button
{body}
    outcomes = (  # TODO: each page after the click, as the portal words it
        pb.OnAccepted(When(pb.heading(), is_="TODO accepted heading"),
                      Read(pb.term("TODO confirmation number"))),
        pb.OnRejected(When(pb.alert(), matches=r"TODO (?P<code>\\w+): (?P<text>.+)"),
                      message="text", reason_code="code"),
        pb.OnDuplicate(When(pb.alert(), has="TODO duplicate")),
        pb.OnRefused(When(pb.alert(), has="TODO please correct"), Read(pb.items(pb.alert()))),
    )
    history = None  # TODO: pb.HistorySearch(path, table, key_column=…, number_column=…)
'''
