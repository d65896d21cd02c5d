"""Reading and filling whole pages in one round trip each.

A claim form has thirty-odd fields; filling them one Playwright call at a time costs a
round trip through the driver and the renderer per field, and that, not the portal, was
most of the time and CPU spent on a claim. These helpers do the same work inside the page
in one call, and keep the checks a person would make: every field is found by its label,
is unique, visible and editable, and still shows the value after its events have run.

They suit classic server-rendered forms. A field that reacts to typing (an autocomplete,
an input mask) still needs Playwright's own `fill` or `press_sequentially`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from playwright.async_api import Frame, Locator, Page

from portalbot.errors import AdapterError

_FILL_BY_LABEL = """
(root, values) => {
  const norm = (s) => (s || "").replace(/\\s+/g, " ").trim();
  const names = (el) => {
    const found = [];
    if (el.hasAttribute("aria-label")) found.push(norm(el.getAttribute("aria-label")));
    const ids = el.getAttribute("aria-labelledby");
    if (ids) {
      found.push(norm(ids.split(/\\s+/).map((id) => {
        const ref = document.getElementById(id);
        return ref ? ref.textContent : "";
      }).join(" ")));
    }
    for (const label of el.labels || []) found.push(norm(label.textContent));
    return found;
  };
  const byName = new Map();
  for (const el of root.querySelectorAll("input, select, textarea")) {
    for (const name of new Set(names(el))) {
      if (!byName.has(name)) byName.set(name, []);
      byName.get(name).push(el);
    }
  }
  const visible = (el) => el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== "hidden";
  const setValue = (el, value) => {
    const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype
      : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, "value").set.call(el, value);
  };
  const problems = [];
  for (const [label, value] of Object.entries(values)) {
    const matches = byName.get(label) || [];
    if (matches.length === 0) { problems.push(["missing", label]); continue; }
    if (matches.length > 1) { problems.push(["ambiguous", label]); continue; }
    const el = matches[0];
    if (!visible(el)) { problems.push(["hidden", label]); continue; }
    if (el.disabled || el.readOnly) { problems.push(["readonly", label]); continue; }
    el.focus();
    if (typeof value === "boolean") {
      if (el.type !== "checkbox" && el.type !== "radio") { problems.push(["kind", label]); continue; }
      if (el.checked !== value) el.click();
      if (el.checked !== value) problems.push(["kept", label]);
      continue;
    }
    if (el instanceof HTMLSelectElement) {
      const option = [...el.options].find((o) => o.value === value)
        || [...el.options].find((o) => norm(o.label) === value);
      if (!option) { problems.push(["option", label]); continue; }
      el.value = option.value;
    } else {
      setValue(el, value);
    }
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
    el.blur();
    const shown = el instanceof HTMLSelectElement ? el.options[el.selectedIndex] : el;
    if (!shown || (el instanceof HTMLSelectElement ? shown.value !== el.value : el.value !== value)) {
      problems.push(["kept", label]);
    }
  }
  return problems;
}
"""

_WHY = {
    "missing": "the page has no field labelled {!r}",
    "ambiguous": "the page has several fields labelled {!r}",
    "hidden": "the field labelled {!r} is not visible",
    "readonly": "the field labelled {!r} cannot be edited",
    "kind": "the field labelled {!r} is not a checkbox",
    "option": "the list labelled {!r} has no such option",
    "kept": "the field labelled {!r} did not keep the value given",
}


async def fill_by_label(
    scope: Page | Frame | Locator, values: Mapping[str, str | bool], *,
    payer_id: str | None = None,
) -> None:
    """Fill text fields, choose list options (by value or visible text) and set
    checkboxes (True/False), each found by its exact label, in one round trip.

    ``scope`` is the page, a frame, or one container (a fieldset, a table row, a
    service-line group): only fields inside it count, so labels that repeat per group
    ("Charge" in every line) are unique within their group.

    Raises AdapterError naming every label that went wrong (labels only, never values):
    a portal that dropped or renamed a field is drift, found at once instead of after a
    locator's timeout.
    """
    root = scope if isinstance(scope, Locator) else scope.locator("html")
    problems: list[list[str]] = await root.evaluate(_FILL_BY_LABEL, dict(values))
    if problems:
        raise AdapterError(
            "; ".join(_WHY[kind].format(label) for kind, label in problems),
            payer_id=payer_id, step="fill",
        )


_ROWS = """
(table) => {
  const text = (cell) => cell.innerText.replace(/\\s+/g, " ").trim();
  const head = table.tHead ? [...table.tHead.rows].pop() : null;
  const headers = head ? [...head.cells].map(text) : [];
  const rows = [...table.tBodies].flatMap((body) => [...body.rows]);
  return rows.map((row) => Object.fromEntries(
    [...row.cells].map((cell, i) => [headers[i] ?? String(i), text(cell)])));
}
"""


async def table_rows(table: Locator) -> list[dict[str, str]]:
    """The body rows of a table as {column header: cell text}, in one round trip."""
    rows: list[dict[str, str]] = await table.evaluate(_ROWS)
    return rows


_TERMS = """
(root) => {
  const text = (el) => el.innerText.replace(/\\s+/g, " ").trim();
  const pairs = [];
  for (const term of root.querySelectorAll("dt")) {
    let value = term.nextElementSibling;
    while (value && value.tagName !== "DD") value = value.nextElementSibling;
    pairs.push([text(term), value ? text(value) : ""]);
  }
  return pairs;
}
"""


async def definition_list(scope: Page | Frame | Locator) -> dict[str, str]:
    """Every term of the page's (or element's) definition lists and its first definition,
    as a person reads a summary page; one round trip."""
    root: Any = scope if isinstance(scope, Locator) else scope.locator("body")
    pairs: list[list[str]] = await root.evaluate(_TERMS)
    return {term: value for term, value in pairs}
