"""MedCom CareCommunication from a partner about a citizen the acute function
serves: MedCom's own example messages (translated from the guide, MedCom's
test CPR) are validated, acknowledged the MedCom way and kept as a thread
linked to the citizen's referral; the coordinator and the nurse read it on
their pages (gated, audited) and reply in the same thread, as MedCom asks
(same episode identifier, a Provenance pointing to the message answered).
Unknown citizen, replacement CPR: MedCom's fatal-error, nothing written; a
reply naming a message the platform never had is shown, in its thread or a
new one (medcom-carecommunication-8, -10)."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from acute.services import visit_assign
from consent.audit.models import AuditEntry
from core.actors import Actor
from core.models import Organisation, Role
from integrations.medcom.validation import validate_message
from integrations.models import CareMessage, CareThread, InboundMessage, OutboundMessage, Partner
from tests import factories as f
from tests.integrations.medcom.peers import FIXTURES, ack_parts, example, header_id, post_signed

pytestmark = pytest.mark.django_db

FOLDER = "carecommunication"

FIRST = "add5e7e2-0c0f-4a4a-bfff-f6f984fa7e3c"  # new message: asks for results
SECOND = "b56549f7-ed10-422d-8088-f7222b686e46"  # the receiver's reply
THIRD = "3dcb5618-3055-406a-9034-1b8fc8de0fea"  # the sender's reply to the reply
REPLACEMENT_CPR = "0d5b3c18-fab6-4d93-9d88-c9c8abf1f18c"
REPLY_TO_OIOXML = "k7bfbc0c-553d-11ed-bdc3-0242ac120002"
ALL_CONTENT = "gfd00bc2-9c26-4174-934e-f6e4360845de"  # regarding a referral, with Encounter
THREAD = "urn:uuid:b2eb3d0e-5de5-4de9-b2a3-0ff321ad1c3a"


def _receive(partner: Partner, name: str) -> tuple[int, str, str, list[str]]:
    message = example(FOLDER, name)
    status, body = post_signed(partner, message)
    assert validate_message(body) == []  # our acknowledgement keeps MedCom's rules
    code, answering, details = ack_parts(body)
    assert answering == header_id(message)
    return status, code, answering, details


def _we_sent_the_second(thread: CareThread) -> None:
    """The platform's reply in MedCom's example thread (the guide's 2nd message)."""
    message = example(FOLDER, SECOND)
    communication = next(
        e["resource"] for e in message["entry"] if e["resource"]["resourceType"] == "Communication"
    )
    for payload in communication["payload"][1:]:
        identifier = next(
            x["valueIdentifier"]["value"] for x in payload["extension"] if "identifier" in x["url"]
        )
        CareMessage.objects.create(
            thread=thread,
            identifier=identifier,
            header_id=header_id(message),
            direction=CareMessage.Direction.OUT,
            text=payload.get("contentString") or "[bilag]",
            written_at=timezone.now(),
        )


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / FOLDER).glob("*.json")), ids=lambda p: p.stem[:8]
)
def test_medcoms_carecommunication_examples_keep_every_rule(path: Path):
    assert validate_message(json.loads(path.read_text(encoding="utf-8"))) == []


def test_a_new_message_opens_a_thread_on_the_citizens_open_referral(hospital, citizen):
    referral = f.acute_referral(person=citizen)
    assert _receive(hospital, FIRST)[:2] == (200, "ok")
    thread = CareThread.objects.get()
    assert (thread.identifier, thread.citizen, thread.referral, thread.partner) == (
        THREAD,
        citizen,
        referral,
        hospital,
    )
    assert (thread.category, thread.topic) == (
        "examination-results",
        "Forspørgsel på seneste resultater",
    )
    (segment,) = thread.messages.all()
    assert segment.direction == "in"
    assert segment.text.startswith("Til rette vedkommende.")
    assert segment.author == "Michael Burns, Sygeplejerske"  # MedCom's title, not its code
    assert segment.author_contact == "38683868"
    entry = AuditEntry.objects.filter(
        citizen_id=citizen.pk, reason_code="care-communication-message"
    )
    assert entry.count() == 1


def test_medcoms_message_regarding_a_referral_with_its_encounter_is_accepted(hospital, citizen):
    assert _receive(hospital, ALL_CONTENT)[:2] == (200, "ok")
    thread = CareThread.objects.get()
    assert thread.category == "regarding-referral"
    assert thread.referral is None  # she has no referral with the acute function
    assert thread.messages.count() >= 1


def test_a_reply_to_our_reply_continues_the_thread_keeping_each_segment_once(hospital, citizen):
    _receive(hospital, FIRST)
    thread = CareThread.objects.get()
    _we_sent_the_second(thread)
    before = thread.messages.count()
    assert _receive(hospital, THIRD)[:2] == (200, "ok")
    assert CareThread.objects.count() == 1
    new = list(thread.messages.filter(direction="in").order_by("pk"))[1:]
    assert [s.text[:14] for s in new] == ["Mange tak for "]
    assert thread.messages.count() == before + 1


def test_the_partners_reply_naming_a_message_we_never_had_is_shown_in_its_thread(hospital, citizen):
    """MedCom's medcom-carecommunication-8: the hospital's reply in its own
    thread answers a message that never arrived here (the guide's 2nd). The
    segments it carries that the platform never had are shown in that
    thread, in the order they were written, and the referral is marked as
    awaiting an answer again (R11, R12)."""
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    api = f.client_for(coordinator)
    _receive(hospital, FIRST)
    thread = CareThread.objects.get()
    answered = api.post(
        f"/api/integrations/care-threads/{thread.pk}/reply", {"text": "Vi ser på det."}, "json"
    )
    assert answered.status_code == 201
    assert api.get(f"/api/acute/referrals/{referral.pk}").json()["answer_awaited"] is False

    assert _receive(hospital, THIRD)[:2] == (200, "ok")

    assert CareThread.objects.count() == 1
    received = thread.messages.filter(direction="in").order_by("written_at", "pk")
    assert [m.text[:22] for m in received] == [
        "Til rette vedkommende.",  # the first message
        "Hej Michael, Resultate",  # the 2nd, which never arrived
        "[Blodprøveresultater]",  # its attachment, by its title
        "Mange tak for fremsend",  # the reply itself
    ]
    assert api.get(f"/api/acute/referrals/{referral.pk}").json()["answer_awaited"] is True


def _with_identifiers(name: str, *, thread: str | None = None, segment: str | None = None):
    """MedCom's example ``name`` as a new message of its own (new ids), with
    the thread's and/or the first segment's identifier replaced."""
    original = example(FOLDER, name)
    text = json.dumps(original).replace(header_id(original), str(uuid.uuid4()))
    message = json.loads(text.replace(original["id"], str(uuid.uuid4())))
    for entry in message["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Communication":
            if thread is not None:
                resource["identifier"][0]["value"] = thread
            if segment is not None:
                for extension in resource["payload"][0]["extension"]:
                    if "identifier" in extension["url"]:
                        extension["valueIdentifier"]["value"] = segment
    return message


def test_a_segment_identifier_longer_than_kept_is_refused_never_cut(hospital, citizen):
    """Two segments whose identifiers differ only past the 100th character are
    two segments: cutting them would keep the first and drop the second as a
    repeat. One that does not fit is refused, naming the field, nothing written."""
    common = "urn:uuid:" + "a" * 91
    for ending in ("-first", "-second"):
        message = _with_identifiers(FIRST, segment=common + ending)
        assert validate_message(message) == []  # MedCom's rules set no length
        status, body = post_signed(hospital, message)
        code, _answering, details = ack_parts(body)
        assert (status, code, details) == (400, "fatal-error", ["MSG_Element_To_Long"])
        assert "Communication.payload.extension(identifier).value" in json.dumps(body)
    assert not CareThread.objects.exists() and not CareMessage.objects.exists()
    # A segment identifier that fits is kept whole.
    message = _with_identifiers(FIRST, segment=common)
    assert post_signed(hospital, message)[0] == 200
    assert CareMessage.objects.get().identifier == common


def test_a_thread_identifier_longer_than_kept_is_refused_never_cut(hospital, citizen):
    message = _with_identifiers(FIRST, thread=THREAD + "-" + "b" * 80)
    assert validate_message(message) == []  # medcom-uuidv4 asks only for a UUID in it
    status, body = post_signed(hospital, message)
    code, _answering, details = ack_parts(body)
    assert (status, code, details) == (400, "fatal-error", ["MSG_Element_To_Long"])
    assert "Communication.identifier.value" in json.dumps(body)
    assert not CareThread.objects.exists() and not CareMessage.objects.exists()


def test_medcoms_reply_to_an_oioxml_letter_opens_a_new_thread(hospital, citizen):
    """MedCom's 7th example: a reply to a letter the platform never had,
    under a communication identifier it does not know, is shown in a new
    thread (medcom-carecommunication-10), holding what the reply carries."""
    referral = f.acute_referral(person=citizen)
    assert _receive(hospital, REPLY_TO_OIOXML)[:2] == (200, "ok")
    thread = CareThread.objects.get()
    assert (thread.identifier, thread.partner, thread.citizen, thread.referral) == (
        "urn:uuid:59aac95e-ca57-4b04-b075-9880b7e6441c",
        hospital,
        citizen,
        referral,
    )
    (segment,) = thread.messages.all()
    assert (segment.direction, segment.activity) == ("in", "reply-message")


def test_an_unknown_citizen_gets_medcoms_no_match_and_nothing_is_written(hospital):
    status, code, _answering, details = _receive(hospital, FIRST)
    assert (status, code, details) == (400, "fatal-error", ["MSG_NO_MATCH"])
    assert not CareThread.objects.exists() and not CareMessage.objects.exists()


def test_a_replacement_cpr_cannot_be_matched_and_gets_no_match(hospital, citizen):
    status, code, _answering, details = _receive(hospital, REPLACEMENT_CPR)
    assert (status, code, details) == (400, "fatal-error", ["MSG_NO_MATCH"])
    assert not CareThread.objects.exists()


def test_an_unknown_sender_is_refused_naming_the_sender(citizen, hospital):
    other = f.organisation(Organisation.Kind.HOME_NURSING, "Hjemmeplejen Nord")
    nursing = f.integration_partner(Partner.Kind.HOME_NURSING, other)
    message = example(FOLDER, FIRST)
    status, body = post_signed(nursing, message)
    code, _answering, details = ack_parts(body)
    assert (status, code, details) == (400, "fatal-error", ["MSG_PARAM_INVALID"])
    assert not CareThread.objects.exists()


def test_another_partners_message_under_a_threads_identifier_is_refused(hospital, citizen):
    _receive(hospital, FIRST)
    other = f.organisation(
        Organisation.Kind.HOSPITAL, "Anden afdeling", sor_code="1042981000016003", ean=f.gln(77)
    )
    second = f.integration_partner(Partner.Kind.HOSPITAL, other)
    message = example(FOLDER, FIRST)
    message["id"] = str(uuid.uuid4())
    header = message["entry"][0]["resource"]
    old, header["id"] = header["id"], str(uuid.uuid4())
    message["entry"][0]["fullUrl"] = message["entry"][0]["fullUrl"].replace(old, header["id"])
    header["source"]["endpoint"] = f"https://sor2.sum.dsdn.dk/#id={other.sor_code}"
    for entry in message["entry"]:
        resource = entry["resource"]
        if (
            resource["resourceType"] == "Organization"
            and resource["id"] == header["sender"]["reference"].rsplit("/", 1)[-1]
        ):
            resource["identifier"] = [
                {"system": "urn:oid:1.2.208.176.1.1", "value": other.sor_code},
                {"system": "http://www.gs1.org/gln", "value": other.ean},
            ]
        for target in resource.get("target", []):
            if target["reference"] == f"MessageHeader/{old}":
                target["reference"] = f"MessageHeader/{header['id']}"
    status, body = post_signed(second, message)
    assert validate_message(message) == []
    code, _answering, details = ack_parts(body)
    assert (status, code, details) == (400, "fatal-error", ["MSG_PARAM_INVALID"])
    assert "carecommunication.thread_of_another_citizen" in json.dumps(body)
    assert CareMessage.objects.count() == 1 and CareThread.objects.get().partner == hospital


def test_a_duplicate_gets_the_first_answer_and_is_kept_once(hospital, citizen):
    _receive(hospital, FIRST)
    status, code, _answering, _details = _receive(hospital, FIRST)
    assert (status, code) == (200, "ok")
    assert CareMessage.objects.count() == 1


# --- shown and answered -------------------------------------------------------------


def _login(membership) -> Client:
    client = Client()
    assert f.log_in(client, membership).status_code == 302
    return client


def _reply_bundle() -> dict:
    outbound = OutboundMessage.objects.get(event="care-communication-reply")
    return outbound.bundle


def test_the_coordinator_reads_the_thread_on_the_referral_and_replies_in_it(hospital, citizen):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    message = example(FOLDER, FIRST)
    post_signed(hospital, message)
    thread = CareThread.objects.get()
    client = _login(coordinator)

    page = client.get(f"/coordinator/referrals/{referral.pk}/").content.decode()
    assert "Til rette vedkommende." in page and "Herlev og Gentofte" in page
    assert "Undersøgelsessvar" in page  # MedCom's category in Danish, never its code
    assert "Korrespondance" in page and "Send svar" in page and "examination-results" not in page
    read = AuditEntry.objects.filter(
        citizen_id=citizen.pk, resource_type="Communication", action="read", outcome="permitted"
    )
    assert read.count() == 1

    done = client.post(
        f"/care-threads/{thread.pk}/reply/",
        {"text": "Blodprøverne tages i aften.", "on": f"referral-{referral.pk}"},
    )
    assert done.status_code == 302 and done["Location"] == f"/coordinator/referrals/{referral.pk}/"
    bundle = _reply_bundle()
    assert validate_message(bundle) == []  # MedCom's CareCommunication, as it goes
    resources = [e["resource"] for e in bundle["entry"]]
    communication = next(r for r in resources if r["resourceType"] == "Communication")
    assert communication["identifier"] == [{"value": THREAD}]  # the same episode identifier
    assert communication["payload"][0]["contentString"] == "Blodprøverne tages i aften."
    history, provenance = [r for r in resources if r["resourceType"] == "Provenance"]
    # MedCom: a reply repeats the Provenance of each earlier message of the thread.
    assert history["target"] == [{"reference": f"MessageHeader/{header_id(message)}"}]
    assert history["activity"]["coding"][0]["code"] == "new-message"
    receiver = bundle["entry"][0]["resource"]["destination"][0]["receiver"]["reference"]
    assert history["agent"] == [{"who": {"reference": receiver}}]
    assert provenance["activity"]["coding"][0]["code"] == "reply-message"
    assert {"role": "revision", "what": {"reference": f"MessageHeader/{header_id(message)}"}} in (
        provenance["entity"]
    )
    ours = thread.messages.get(direction="out")
    assert ours.header_id == bundle["entry"][0]["resource"]["id"]
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, resource_type="Communication", action="create"
    ).exists()


def test_the_partners_answer_to_our_reply_continues_the_thread(hospital, citizen):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    post_signed(hospital, example(FOLDER, FIRST))
    thread = CareThread.objects.get()
    _login(coordinator).post(
        f"/care-threads/{thread.pk}/reply/", {"text": "Svar.", "on": f"referral-{referral.pk}"}
    )
    ours = thread.messages.get(direction="out")
    answer = copy.deepcopy(example(FOLDER, THIRD))
    for entry in answer["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Provenance" and resource["target"][0]["reference"].endswith(
            header_id(answer)
        ):
            resource["entity"][0]["what"]["reference"] = f"MessageHeader/{ours.header_id}"
    answer["id"] = str(uuid.uuid4())
    status, body = post_signed(hospital, answer)
    assert (status, ack_parts(body)[0]) == (200, "ok")
    assert thread.messages.filter(direction="in").count() > 1


def test_the_nurse_reads_and_replies_on_her_visit(hospital, citizen):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    nurse, shift = f.acute_nurse_on_shift()
    referral = f.acute_referral(person=citizen, by=coordinator)
    visit = visit_assign(referral=referral, shift=shift, actor=Actor.for_membership(coordinator))
    post_signed(hospital, example(FOLDER, FIRST))
    thread = CareThread.objects.get()
    client = _login(nurse)
    page = client.get(f"/nurse/visits/{visit.pk}/").content.decode()
    assert "Til rette vedkommende." in page
    assert f'value="visit-{visit.pk}"' in page
    done = client.post(
        f"/care-threads/{thread.pk}/reply/",
        {"text": "Jeg er hos borgeren nu.", "on": f"visit-{visit.pk}"},
    )
    assert done.status_code == 302 and done["Location"] == f"/nurse/visits/{visit.pk}/"
    assert thread.messages.filter(direction="out", written_by=nurse).count() == 1


def test_an_empty_reply_is_refused_and_nothing_goes(hospital, citizen):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    referral = f.acute_referral(person=citizen, by=coordinator)
    post_signed(hospital, example(FOLDER, FIRST))
    thread = CareThread.objects.get()
    client = _login(coordinator)
    done = client.post(
        f"/care-threads/{thread.pk}/reply/", {"text": "  ", "on": f"referral-{referral.pk}"}
    )
    assert done.status_code == 400
    assert "Skriv svaret." in done.content.decode()
    assert not OutboundMessage.objects.filter(event="care-communication-reply").exists()
    assert not thread.messages.filter(direction="out").exists()


def test_r1_a_nurse_without_a_visit_for_the_citizen_is_refused_and_it_is_audited(hospital, citizen):
    f.acute_referral(person=citizen)
    post_signed(hospital, example(FOLDER, FIRST))
    thread = CareThread.objects.get()
    stranger, _shift = f.acute_nurse_on_shift()
    refused = _login(stranger).post(f"/care-threads/{thread.pk}/reply/", {"text": "Hej"})
    assert refused.status_code in (403, 404)
    assert not thread.messages.filter(direction="out").exists()
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, resource_type="Communication", outcome="denied"
    ).exists()


def test_r1_a_coordinator_may_not_reply_in_the_thread_of_a_citizen_she_has_no_referral_for(
    hospital, citizen
):
    """A thread's number changed in the address (her own citizen's referral
    page as the page to go back to) reaches no other citizen's conversation:
    refused, nothing sent, the attempt on that citizen's log (R9). A
    message without an open referral is her function's only when it serves
    the citizen's municipality (decision 0031); here it does not."""
    post_signed(hospital, example(FOLDER, FIRST))
    thread = CareThread.objects.get()
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    f.acute_function().serves.remove(citizen.municipality)
    own = f.acute_referral(person=f.citizen(municipality_code="159"), by=coordinator)
    refused = _login(coordinator).post(
        f"/care-threads/{thread.pk}/reply/", {"text": "Hej", "on": f"referral-{own.pk}"}
    )
    assert refused.status_code in (403, 404)
    assert not thread.messages.filter(direction="out").exists()
    assert not OutboundMessage.objects.filter(event="care-communication-reply").exists()
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, resource_type="Communication", outcome="denied", action="create"
    ).exists()


@pytest.mark.parametrize(
    "role",
    [Role.AUDITOR, Role.MEDICINE_OFFICER, Role.ANALYST, Role.PHYSICIAN, Role.ADMINISTRATOR],
)
def test_roles_that_do_not_care_for_the_citizen_may_not_reply(hospital, citizen, role):
    f.acute_referral(person=citizen)
    post_signed(hospital, example(FOLDER, FIRST))
    thread = CareThread.objects.get()
    refused = _login(f.staff(role, f.acute_function())).post(
        f"/care-threads/{thread.pk}/reply/", {"text": "Hej"}
    )
    assert refused.status_code in (403, 404)
    assert not thread.messages.filter(direction="out").exists()
    # R9: the refused attempt is on the citizen's log, with the role that tried.
    assert AuditEntry.objects.filter(
        citizen_id=citizen.pk, actor_role=role, outcome="denied", action="create"
    ).exists()


def test_an_unknown_thread_looks_like_a_refused_one_and_is_audited(hospital):
    coordinator = f.staff(Role.COORDINATOR, f.acute_function())
    refused = _login(coordinator).post("/care-threads/999999/reply/", {"text": "Hej"})
    assert refused.status_code in (403, 404)
    assert AuditEntry.objects.filter(resource_id="care-thread-999999", outcome="denied").exists()


@pytest.mark.parametrize("blank", ["   ", "\n\t "])
def test_a_message_text_of_only_blanks_is_refused_and_nothing_is_written(hospital, citizen, blank):
    """MedCom: a text segment carries a message text. One of blanks only
    would stand in the thread as an empty message the staff must answer."""
    message = _with_identifiers(FIRST, thread=f"urn:uuid:{uuid.uuid4()}")
    for entry in message["entry"]:
        if entry["resource"]["resourceType"] == "Communication":
            entry["resource"]["payload"][0]["contentString"] = blank
    status, body = post_signed(hospital, message)
    assert validate_message(body) == []
    assert ack_parts(body) == ("fatal-error", header_id(message), ["MSG_PARAM_INVALID"])
    assert status == 400
    assert "Communication.payload.contentString" in json.dumps(body)
    assert not CareThread.objects.exists() and not CareMessage.objects.exists()


def test_a_new_conversation_about_a_citizen_whose_municipality_left_is_refused(hospital, citizen):
    Organisation.objects.filter(pk=citizen.municipality_id).update(participates=False)
    status, code, _answering, details = _receive(hospital, FIRST)
    assert (status, code, details) == (400, "fatal-error", ["MSG_PARAM_INVALID"])
    assert not CareThread.objects.exists() and not CareMessage.objects.exists()
    refused = InboundMessage.objects.get(header_id=header_id(example(FOLDER, FIRST)))
    assert refused.reason_code == "carecommunication.citizen_not_served"


def test_a_conversation_about_her_referral_still_open_when_her_municipality_left_is_kept(
    hospital, citizen
):
    referral = f.acute_referral(person=citizen)
    Organisation.objects.filter(pk=citizen.municipality_id).update(participates=False)
    assert _receive(hospital, FIRST)[:2] == (200, "ok")
    assert CareThread.objects.get().referral == referral
