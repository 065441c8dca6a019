"""Refusals in Danish, every refused field marked under itself, and what the
nurse typed kept; the API's message in Danish only when the client asks for it."""

from __future__ import annotations

import re

import pytest

from acute.models import VitalSign
from core.models import Role
from tests import factories as f
from tests.acute.test_pages import _assigned, _login, _walk_to_site

pytestmark = pytest.mark.django_db


def _field(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert match, name
    return match.group(0)


def test_two_impossible_vital_signs_are_both_marked_in_danish_and_nothing_is_saved():
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _walk_to_site(client, visit)

    response = client.post(
        f"/nurse/visits/{visit.pk}/vitals/",
        {"vital_8867-4": "400", "vital_8310-5": "99", "vital_59408-5": "97"},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Ikke udført:" in html and "2 felter skal rettes." in html
    pulse, temperature, saturation = (
        _field(html, "vital_8867-4"),
        _field(html, "vital_8310-5"),
        _field(html, "vital_59408-5"),
    )
    assert 'aria-invalid="true"' in pulse and 'aria-describedby="err-vital-8867-4"' in pulse
    assert 'aria-invalid="true"' in temperature and 'value="99"' in temperature
    assert 'aria-invalid="true"' not in saturation and 'value="97"' in saturation
    under_pulse = '<p class="field-error" id="err-vital-8867-4">'
    assert under_pulse + "Værdien skal ligge mellem 0 og 300 /min." in html
    assert "Værdien skal ligge mellem 25 og 45 °C." in html
    assert "The value must be" not in html and "Cel" not in html
    assert not VitalSign.objects.filter(visit=visit).exists()


def test_an_impossible_lab_value_shows_as_impossible_while_typed_not_as_normal():
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _walk_to_site(client, visit)

    crp = client.get(f"/nurse/visits/{visit.pk}/interpret/", {"code": "NPU19748", "value": "-3"})

    html = crp.content.decode()
    assert "Umulig værdi" in html
    assert "data-interpretation" not in html
    saved = client.post(f"/nurse/visits/{visit.pk}/lab/", {"code": "NPU19748", "value": "-3"})
    assert saved.status_code == 400
    assert 'value="-3"' in _field(saved.content.decode(), "value")
    assert 'aria-invalid="true"' in _field(saved.content.decode(), "value")


def test_the_api_message_is_danish_when_asked_for_and_the_code_stays():
    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _walk_to_site(client, visit)
    api = f.client_for(nurse)
    body = {"measurements": [{"code": "8867-4", "value": "400"}, {"code": "8310-5", "value": "20"}]}

    danish = api.post(
        f"/api/acute/visits/{visit.pk}/vital-signs", body, format="json", HTTP_ACCEPT_LANGUAGE="da"
    )
    english = api.post(
        f"/api/acute/visits/{visit.pk}/vital-signs", body, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert danish.status_code == english.status_code == 400
    da_error, en_error = danish.json()["error"], english.json()["error"]
    assert da_error["code"] == en_error["code"] == "vital_signs.value_out_of_range"
    assert da_error["message"] == "Værdien skal ligge mellem 0 og 300 /min."
    assert en_error["message"] == "The value must be between 0 and 300 /min."
    assert [e["field"] for e in da_error["errors"]] == [
        "measurements[0].value",
        "measurements[1].value",
    ]
    assert da_error["errors"][1]["message"] == "Værdien skal ligge mellem 25 og 45 °C."


def test_the_visit_page_with_records_shows_no_raw_code_or_english_unit():
    from tests.core.test_danish_pages import ENGLISH, _read, raw_choice_values

    nurse, _shift, visit = _assigned()
    client = _login(nurse)
    _walk_to_site(client, visit)
    saved = client.post(
        f"/nurse/visits/{visit.pk}/vitals/", {"vital_8867-4": "92", "vital_8310-5": "38,6"}
    )
    assert saved.status_code == 302
    client.post(f"/nurse/visits/{visit.pk}/lab/", {"code": "NPU19748", "value": "40"})

    text, _links = _read(client.get(f"/nurse/visits/{visit.pk}/").content.decode())

    assert "38.6 °C" in text or "38,6 °C" in text
    assert not raw_choice_values() & set(re.findall(r"[a-z0-9_]+", text))
    assert [w for w in ENGLISH if w in text] == []


def test_a_refused_phone_referral_marks_the_cpr_field_and_keeps_the_rest():
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    client = _login(coordinator)
    response = client.post(
        "/coordinator/referrals/new/",
        {
            "cpr": "12345",
            "urgency": "within_shift",
            "source": "gp",
            "referrer_name": "Læge Holm",
            "referrer_phone": "44556677",
            "reason": "Faldende almentilstand",
            "clinical_picture": "Træt og svimmel",
            "requested_actions": "Vurdering",
        },
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-invalid="true" aria-describedby="err-cpr"' in _field(html, "cpr")
    assert '<p class="field-error" id="err-cpr">' in html
    assert 'value="Læge Holm"' in _field(html, "referrer_name")
    assert "Træt og svimmel" in html
