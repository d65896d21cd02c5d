"""Where on the page an outcome was read, as a selector the evidence store can photograph.

A ``Place`` becomes the selector string its ``locate`` builds through ``get_by_role`` /
``get_by_text`` (Playwright's own ``internal:`` engines, which ``page.locator`` accepts),
so the element screenshot taken after the recogniser shows exactly what it read.
"""

from __future__ import annotations

import json

from portalbot.portal.kit import Place


def region(place: Place) -> str | None:
    """``place`` as a selector ``page.locator`` takes (what ``Place.locate`` builds); None
    for the whole page, already in the full screenshot."""
    outer = region(place.inside) if place.inside else None
    own = _own_selector(place)
    if own is None:
        return outer
    return f"{outer} >> {own}" if outer else own


def _own_selector(place: Place) -> str | None:
    if place.term is not None:
        quote = '"' if '"' not in place.term else "'"
        if quote in place.term:
            return None
        return f"xpath=//dt[normalize-space()={quote}{place.term}{quote}]/ancestor::dl[1]"
    if place.role:
        selector = f"internal:role={place.role}"
        if place.level is not None:
            selector += f"[level={place.level}]"
        if place.name is not None:
            selector += f"[name={json.dumps(place.name)}{'i' if place.level is not None else 's'}]"
        return selector
    if place.text:
        return f"internal:text={json.dumps(place.text)}{'s' if place.exact else 'i'}"
    if place.css:
        return f"{place.css} >> internal:has-text=/\\S/ >> nth=0"
    return None
