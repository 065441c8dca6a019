"""A page form sent twice in tests: the reference its page drew for it
(``{% form_ref %}``), and the two sends, of which the second is told in
Danish that nothing was done twice (``core.form_once``)."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

NOTICE = "Formularen var allerede modtaget; intet blev gjort to gange."
_REF = re.compile(r'name="form_ref" value="([0-9a-f]{32})"')


def ref_for(client: Client, page: str, action: str) -> str:
    """The reference the form to ``action`` on ``page`` was drawn with."""
    html = client.get(page).content.decode()
    start = html.index(f'action="{action}"')
    found = _REF.search(html, start)
    assert found is not None and html.find("</form>", start) > found.start(), (
        f"the form to {action} carries no reference"
    )
    return found.group(1)


def sent_twice(client: Client, path: str, form: dict[str, str], notice: str = NOTICE) -> Any:
    """Both sends answered alike, to the same place, the second with ``notice``;
    the first's answer."""
    first = client.post(path, form)
    second = client.post(path, form)
    assert first.status_code == 302, first.content.decode()[:2000]
    assert second.status_code == 302
    assert second["Location"] == first["Location"]
    assert notice in client.get(second["Location"]).content.decode()
    return first
