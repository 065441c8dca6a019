"""Every reason the platform gives for refusing a partner's message as
unreadable (``integrations.messages``) has its own sentence on the
coordinator's list of refused messages, in Danish: she reads what was wrong
with it, not the catch-all "refused by the platform's rules"."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

import integrations.messages
from integrations.models import InboundMessage

_RAISED = re.compile(r'InvalidMessage\(\s*"(message\.[a-z_]+)"')


def test_every_reason_a_message_is_unreadable_has_its_danish_sentence():
    source = Path(integrations.messages.__file__).read_text(encoding="utf-8")
    codes = sorted(set(_RAISED.findall(source)))
    assert "message.id_missing" in codes  # the scan finds what the module raises

    with translation.override("da"):
        catch_all = InboundMessage(reason_code="no.such_reason").reason_display()
        shown = {code: InboundMessage(reason_code=code).reason_display() for code in codes}
    with translation.override("en"):
        english = {code: InboundMessage(reason_code=code).reason_display() for code in codes}

    assert [code for code, text in shown.items() if text == catch_all] == []
    assert [code for code in codes if shown[code] == english[code]] == []
