"""Reading a live claim form: every control with its accessible name, type, options and
required flag — in every wizard step (hidden steps included), in a ``<template>`` row a
portal stamps out per service line, and in legacy tables where the label is the cell
beside the field. Used by ``portalbot scaffold`` and by its generic sign-in."""

from __future__ import annotations

from dataclasses import dataclass
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
  const nameOf = (el, root) => {
    if (el.getAttribute("aria-label")) return el.getAttribute("aria-label");
    const by = el.getAttribute("aria-labelledby");
    if (by) return by.split(/\\s+/).map(id => text(root.getElementById ? root.getElementById(id)
        : document.getElementById(id))).join(" ");
    if (el.id) { const l = (root.querySelector ? root : document).querySelector(`label[for="${el.id}"]`);
      if (l) return text(l); }
    const wrap = el.closest("label");
    if (wrap) { const c = wrap.cloneNode(true); c.querySelectorAll("select,option").forEach(x => x.remove());
      return text(c); }
    const cell = el.closest("td");
    if (cell) {
      const row = cell.parentElement; const table = cell.closest("table");
      let header = row.previousElementSibling;
      while (header && !header.querySelector("th")) header = header.previousElementSibling;
      const heads = header ? [...header.children] : [];
      const at = [...row.children].indexOf(cell);
      if (heads.length && heads[at] && heads[at].tagName === "TH" && !row.querySelector("th")) {
        const first = text(row.children[0]);
        return `${first && at > 0 ? "Line " + first + " " : ""}${text(heads[at])}`;
      }
      const before = cell.previousElementSibling; if (before) return text(before);
    }
    return el.getAttribute("title") || el.getAttribute("placeholder") || el.name || "";
  };
  for (const root of roots) {
    const all = [...root.querySelectorAll(selector)];
    all.forEach((el, index) => {
      const type = el.tagName === "SELECT" ? "select" : el.tagName === "TEXTAREA" ? "textarea"
        : (el.getAttribute("role") === "combobox" ? "combobox" : (el.type || "text"));
      let name = nameOf(el, root); let options = [];
      if (type === "radio") {
        if (seen.has("radio:" + el.name)) return; seen.add("radio:" + el.name);
        const group = el.closest("[role=radiogroup], fieldset");
        const by = group && group.getAttribute("aria-labelledby");
        name = by ? text(document.getElementById(by)) : text(group && group.querySelector("legend")) || el.name;
        options = [...root.querySelectorAll(`input[type=radio][name="${el.name}"]`)].map(r => text(r.closest("label")) || r.value);
      }
      if (type === "select") options = [...el.options].map(o => text(o)).filter(Boolean);
      found.push({name: clean(name), type, options, index: root === document ? index : -1,
                  required: el.required || el.getAttribute("aria-required") === "true",
                  html_name: el.name || "", template: root !== document});
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


async def read_fields(frame: Frame) -> list[FormField]:
    raw: list[dict[str, Any]] = await frame.evaluate(_READ, CONTROLS)
    return [FormField(r["name"], r["type"], tuple(r["options"]), bool(r["required"]), r["index"])
            for r in raw if r["name"]]


async def busiest_frame(page: Page) -> Frame:
    """The frame holding the most controls: the form, in a frameset or not."""
    counts = [(await frame.locator(CONTROLS).count(), n) for n, frame in enumerate(page.frames)]
    return page.frames[max(counts)[1]]
