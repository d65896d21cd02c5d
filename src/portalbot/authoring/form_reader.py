"""Reading a live claim form: every control with its accessible name, type, options and
required flag — in every wizard step (hidden steps included), in a ``<template>`` row a
portal stamps out per service line, and in legacy tables where the label is the cell
beside the field. Used by ``portalbot scaffold`` and by its generic sign-in.

Each field also says *how* it is named (``label``: a label or ARIA name; ``cell``: the
caption cell beside it; ``column``: a grid's column header, with its row's first cell)
and which wizard step holds it (the heading of its ``section``/``fieldset``, and whether
that step is hidden now): ``scaffold`` picks the adapter's shape from these.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from playwright.async_api import Frame, Page

CONTROLS = "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset])" \
           ":not([type=image]), select, textarea"

# The accessible name as a person reads it: aria-label, aria-labelledby, <label for>, a
# wrapping <label>, a radio group's label, else a table's caption cell or column header.
_READ = """(selector) => {
  const text = (el) => (el ? (el.textContent || "").replace(/\\s+/g, " ").trim() : "");
  const clean = (s) => s.replace(/__N__/g, "1").replace(/[:*]+$/, "").trim();
  const roots = [document, ...[...document.querySelectorAll("template")].map(t => t.content)];
  const seen = new Set(); const found = [];
  const named = (name, how = "label", row = "", column = "", first = "") =>
    ({name, how, row, column, first});
  const nameOf = (el, root) => {
    if (el.getAttribute("aria-label")) return named(el.getAttribute("aria-label"));
    const by = el.getAttribute("aria-labelledby");
    if (by) return named(by.split(/\\s+/).map(id => text(root.getElementById ? root.getElementById(id)
        : document.getElementById(id))).join(" "));
    if (el.id) { const l = (root.querySelector ? root : document).querySelector(`label[for="${el.id}"]`);
      if (l) return named(text(l)); }
    const wrap = el.closest("label");
    if (wrap) { const c = wrap.cloneNode(true); c.querySelectorAll("select,option").forEach(x => x.remove());
      return named(text(c)); }
    const cell = el.closest("td");
    if (cell) {
      const row = cell.parentElement;
      let header = row.previousElementSibling;
      while (header && !header.querySelector("th")) header = header.previousElementSibling;
      const heads = header ? [...header.children] : [];
      const at = [...row.children].indexOf(cell);
      if (heads.length && heads[at] && heads[at].tagName === "TH" && !row.querySelector("th")) {
        const first = text(row.children[0]);
        const column = clean(text(heads[at]));
        return named(`${first && at > 0 ? "Line " + first + " " : ""}${column}`, "column",
                     clean(first), column, clean(text(heads[0])));
      }
      const before = cell.previousElementSibling; if (before) return named(text(before), "cell");
    }
    return named(el.getAttribute("title") || el.getAttribute("placeholder") || el.name || "");
  };
  const stepOf = (el) => {
    const box = el.closest("section, fieldset, [role=tabpanel]");
    const head = box && box.querySelector("h1, h2, h3, h4, h5, h6");
    if (!head) return {step: "", level: 0, hidden: false};
    return {step: text(head), level: Number(head.tagName[1]),
            hidden: !!box.closest("[hidden]") || getComputedStyle(box).display === "none"};
  };
  const adder = [...document.querySelectorAll("button, input[type=button]")]
    .map(b => text(b) || b.value || "").find(t => /^add\\b/i.test(t)) || "";
  for (const root of roots) {
    const all = [...root.querySelectorAll(selector)];
    all.forEach((el, index) => {
      const type = el.tagName === "SELECT" ? "select" : el.tagName === "TEXTAREA" ? "textarea"
        : (el.getAttribute("role") === "combobox" ? "combobox" : (el.type || "text"));
      let about = nameOf(el, root); let options = [];
      if (type === "radio") {
        if (seen.has("radio:" + el.name)) return; seen.add("radio:" + el.name);
        const group = el.closest("[role=radiogroup], fieldset");
        const by = group && group.getAttribute("aria-labelledby");
        about = named(by ? text(document.getElementById(by)) : text(group && group.querySelector("legend")) || el.name);
        options = [...root.querySelectorAll(`input[type=radio][name="${el.name}"]`)].map(r => text(r.closest("label")) || r.value);
      }
      if (type === "select") options = [...el.options].map(o => text(o)).filter(Boolean);
      const template = root !== document;
      found.push({...about, name: clean(about.name), type, options,
                  index: template ? -1 : index,
                  required: el.required || el.getAttribute("aria-required") === "true",
                  ...(template ? {step: "", level: 0, hidden: false} : stepOf(el)),
                  add: template ? adder : ""});
    });
  }
  return found;
}"""


@dataclass(frozen=True)
class FormField:
    """One labelled control: what a person reads beside it and what it takes."""

    label: str
    type: str
    options: tuple[str, ...]
    required: bool
    index: int
    """Its place among the frame's ``CONTROLS`` (-1: inside a ``<template>``)."""
    how: str = "label"
    """``label`` (a label or ARIA name), ``cell`` (the caption cell beside it) or
    ``column`` (a grid column: ``column`` its header, ``row`` its row's first cell,
    ``first`` the grid's first header)."""
    row: str = ""
    column: str = ""
    first: str = ""
    step: str = ""
    """The heading of the wizard step (section, fieldset) holding it; ``level`` its level."""
    level: int = 0
    hidden: bool = False
    add: str = ""
    """For a field of a row stamped out from a ``<template>``: the page's "Add …"
    button, if it has one (the form adds lines with it)."""


async def read_fields(frame: Frame) -> list[FormField]:
    """Every named control; a ``<template>`` row's fields only where the page does not
    already show them (a first line stamped out from the template)."""
    raw: list[dict[str, Any]] = await frame.evaluate(_READ, CONTROLS)
    fields = [FormField(r["name"], r["type"], tuple(r["options"]), bool(r["required"]),
                        r["index"], r["how"], r["row"], r["column"], r["first"], r["step"],
                        r["level"], bool(r["hidden"]), r["add"])
              for r in raw if r["name"]]
    stamped = {f.label: f.add for f in fields if f.index < 0}
    shown = {f.label for f in fields if f.index >= 0}
    return [replace(f, add=stamped.get(f.label, f.add)) for f in fields
            if f.index >= 0 or f.label not in shown]


async def busiest_frame(page: Page) -> Frame:
    """The frame holding the most controls: the form, in a frameset or not."""
    counts = [(await frame.locator(CONTROLS).count(), n) for n, frame in enumerate(page.frames)]
    return page.frames[max(counts)[1]]
