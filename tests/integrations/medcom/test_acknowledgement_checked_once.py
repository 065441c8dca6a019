"""Our ok Acknowledgement is checked against MedCom's rules once for each
shape it can take (the partner, what it shows of the two organisations, the
endpoint it goes to), not for every message: what it holds beside those is
ids and times made for it. A changed organisation, or an answered id that is
not a UUID, is checked again, and an acknowledgement breaking the rules is
still told in the log."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from core.models import Organisation
from integrations.medcom import inbound as medcom_inbound
from tests.integrations.medcom.test_hospital_notification import (
    SLHJ,
    STIN,
    STOR,
    _ack,
    _example,
    _post,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def checked(monkeypatch) -> list[str]:
    """The acknowledgements checked against MedCom's rules (their answered
    id), by the real check, starting from none checked."""
    seen: list[str] = []
    check = medcom_inbound.validate_message

    def counting(message: Any, **kwargs: Any) -> Any:
        header = message["entry"][0]["resource"]
        if header.get("eventCoding", {}).get("code") == "acknowledgement-message":
            seen.append(header["response"]["identifier"])
        return check(message, **kwargs)

    monkeypatch.setattr(medcom_inbound, "_OK_SHAPES_CHECKED", {})
    monkeypatch.setattr(medcom_inbound, "validate_message", counting)
    return seen


def test_an_ok_acknowledgement_of_the_same_shape_is_checked_once(hospital, citizen, checked):
    answered = []
    for name in (STIN, STOR):
        status, body = _post(hospital, _example(name))
        code, identifier, _ = _ack(body)
        assert (status, code) == (200, "ok")
        answered.append(identifier)
    assert checked == answered[:1]


def test_a_changed_organisation_is_checked_again_and_a_broken_rule_told(
    hospital, citizen, checked, caplog
):
    status, body = _post(hospital, _example(STIN))
    assert (status, _ack(body)[0]) == (200, "ok")
    # Our EAN removed: the acknowledgement names us by SOR only.
    Organisation.objects.filter(kind=Organisation.Kind.ACUTE_FUNCTION).update(ean=None)
    with caplog.at_level(logging.WARNING, logger="integrations.medcom.inbound"):
        status, body = _post(hospital, _example(STOR))
        assert (status, _ack(body)[0]) == (200, "ok")
        first_told = [r for r in caplog.records if "breaks" in r.getMessage()]
        status, body = _post(hospital, _example(SLHJ))
        assert (status, _ack(body)[0]) == (200, "ok")
    told = [r for r in caplog.records if "breaks" in r.getMessage()]
    # The first shape, ours without the EAN, and then the same answering an
    # id that is not a UUID (MedCom's example "g1affa53-..."): a shape of its own.
    assert len(checked) == 3
    assert first_told and len(told) == 2 * len(first_told)  # each answer that breaks it, told
