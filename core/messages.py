# ruff: noqa: E501 -- the fixed messages are msgids, each kept whole on one line
"""What a person reads when the platform refuses: one place for every error message.

Services raise :class:`core.errors.PlatformError` with a stable English
``code`` and an English ``message``. Every door (the pages, ``/api/`` and
``/fhir/``) shows :func:`user_message` instead: the message in the request's
language (Danish unless it asks for English,
``core.exception_handler.answer_language``), from the gettext catalogue.

- A message that does not depend on the case is its own msgid: it is listed
  in ``FIXED`` so that ``makemessages`` finds it.
- A message with values (a range, a unit, a test) is a template in
  ``TEMPLATES``, filled from the error's ``params``.
- A message built from values with no template falls back to the code's
  sentence in ``BY_CODE``, then to the kind's sentence: never English on a
  Danish page.

One module, longer than most: it is the catalogue of every refusal's
sentence, kept in one place so that a test can hold each code to its
wording and a translator finds them together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.functional import Promise, lazy
from django.utils.text import format_lazy
from django.utils.translation import get_language, gettext, gettext_noop, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core.cpr import CPR_IN_TEXT
from core.errors import PlatformError

# The unique rules a person or a partner can break by what she sends (a
# name, a code, a number that must be unique), by the name of the database
# constraint that keeps each, or ``<table>.<column>`` for a column declared
# ``unique=True``: the code every door answers with (409, nothing written;
# ``duplicate`` on /fhir/), the field she typed it in and the sentence shown
# there, which never quotes the value (it may be a CPR number).
# ``core.validation`` reads it where a model's validation or the database
# refuses the write.
UNIQUE_RULES: dict[str, tuple[str, str, str]] = {
    "location_unique_name": (
        "cabinet.name_taken",
        "name",
        gettext_noop(
            "Another cabinet or nurse's bag of the acute function already has this name; choose another name."
        ),
    ),
    "core_citizen.cpr": (
        "citizen.exists",
        "cpr",
        gettext_noop("A citizen with this CPR number is already registered."),
    ),
    "citizen_replacement_cpr_unique": (
        "citizen.exists",
        "replacement_cpr",
        gettext_noop("A citizen with this replacement CPR is already registered."),
    ),
    "core_organisation.municipality_code": (
        "organisation.municipality_code_taken",
        "municipality_code",
        gettext_noop("Another organisation already has this municipality code."),
    ),
    "core_organisation.sor_code": (
        "organisation.sor_code_taken",
        "sor_code",
        gettext_noop("Another organisation already has this SOR code."),
    ),
    "core_organisation.provider_number": (
        "organisation.provider_number_taken",
        "provider_number",
        gettext_noop("Another organisation already has this provider number."),
    ),
    "core_organisation.ean": (
        "organisation.ean_taken",
        "ean",
        gettext_noop("Another organisation already has this EAN location number."),
    ),
    "core_user.username": (
        "user.username_taken",
        "username",
        gettext_noop("Another member of staff already has this username; choose another."),
    ),
    "membership_unique": (
        "membership.exists",
        "role",
        gettext_noop("The person already has this role at this organisation."),
    ),
    "medicine_unique_line": (
        "medicine.line_exists",
        "atc_code",
        gettext_noop(
            "The formulary already has a line with this ATC code, strength and form; change that line instead."
        ),
    ),
    "auth_group.name": (
        "group.name_taken",
        "name",
        gettext_noop("Another group already has this name; choose another name."),
    ),
    "membership_one_default": (
        "membership.default_taken",
        "is_default",
        gettext_noop(
            "Another of the person's roles is already the one chosen at sign-in; untick it there first."
        ),
    ),
    "location_one_bag_per_nurse": (
        "bag.exists",
        "nurse",
        gettext_noop("The nurse already has a bag in the acute function; change that bag instead."),
    ),
    "core_systemclient.client_id": (
        "system.client_id_taken",
        "client_id",
        gettext_noop("Another system is already registered with this client id; choose another."),
    ),
}

# The messages are msgids, kept whole on one line each.
FIXED = (
    *(message for _code, _field, message in UNIQUE_RULES.values()),
    gettext_noop(
        "A search names one citizen: patient and subject, repeated or together, must name the same Patient."
    ),
    gettext_noop("The system could not be registered."),
    gettext_noop(
        "external_id is the referring organisation's own number for its referral; a referral typed in from a phone call has none: leave it out."
    ),
    gettext_noop(
        "A message that breaks MedCom's rules is never sent; correct the cause and the next message goes."
    ),
    gettext_noop("Only a member of staff can do this."),
    gettext_noop(
        "A delegation is given by a physician (R7): the authorisation ID given is your own or that of a member of staff who is not a physician."
    ),
    gettext_noop(
        "A phone order is given by a physician (R8): the authorisation ID given is your own or that of a member of staff who is not a physician."
    ),
    gettext_noop("Another coordinator has already seen the message."),
    gettext_noop("Only an acute nurse gives medicine from her bag."),
    gettext_noop("Other partitions hold entries inside this month's positions."),
    gettext_noop("Archiving needs PostgreSQL."),
    gettext_noop("Archive the oldest month first."),
    gettext_noop("No such monthly audit partition."),
    gettext_noop("Search by the citizen's internal id; CPR numbers are not accepted here."),
    gettext_noop("Type the citizen's CPR number or at least two letters of the name."),
    gettext_noop("No member of staff has that username."),
    gettext_noop("No citizen with that CPR number."),
    gettext_noop("This entry has no flag to review."),
    gettext_noop("No such audit entry."),
    gettext_noop(
        "Your visit was withdrawn because the citizen was admitted to hospital. Nothing was saved."
    ),
    gettext_noop(
        "Your visit was withdrawn because the citizen is registered deceased. Nothing was saved."
    ),
    gettext_noop("No such witness alarm."),
    gettext_noop("The entry has not yet been given its place in the log; ask again in a moment."),
    gettext_noop("No audit log with this name."),
    gettext_noop("No checkpoint of this log yet."),
    gettext_noop("The sizes must satisfy 1 <= from <= to."),
    gettext_noop("log must name a log."),
    gettext_noop("from must be a whole number."),
    gettext_noop("to must be a whole number."),
    gettext_noop("This witness is not one the platform accepts."),
    gettext_noop("Not a checkpoint with one cosignature line."),
    gettext_noop("The log signed no such checkpoint."),
    gettext_noop("The cosignature does not verify with the witness's key."),
    gettext_noop("The refusal does not verify with the witness's key."),
    gettext_noop("witness and checkpoint are required."),
    gettext_noop("Send a cosignature, or a refusal with its signature."),
    gettext_noop("from must be before to."),
    gettext_noop("outcome and flag take one value each."),
    gettext_noop("The dates searched end before they begin."),
    gettext_noop("as must be csv or fhir."),
    gettext_noop("A review needs a comment."),
    gettext_noop("Only a person can review an entry."),
    gettext_noop("The access could not be recorded in the audit log, so it was not carried out."),
    gettext_noop("Wrong username or password."),
    gettext_noop("You have several roles: say which organisation and role to act in."),
    gettext_noop("You have no such role at that organisation."),
    gettext_noop("This user has no active role at any organisation."),
    gettext_noop(
        "Your municipality no longer takes part in the joint acute function: you cannot sign in on its behalf."
    ),
    gettext_noop("The sender is not a known partner or the signature is wrong."),
    gettext_noop("Too many failed logins. Wait a while before trying again."),
    gettext_noop("Too many wrong codes in a row. Wait a little before typing the next code."),
    gettext_noop("The token is unknown, expired or revoked."),
    gettext_noop("The token's role is no longer active."),
    gettext_noop("The bearer token is missing."),
    gettext_noop("This endpoint declares no access rule, so it refuses everyone."),
    gettext_noop("The code is wrong or used."),
    gettext_noop("Give the code from your code app as otp."),
    gettext_noop("Set up a code app on the login page before logging in here."),
    gettext_noop("Start the set-up again."),
    gettext_noop("Log out with the bearer token you want to revoke."),
    gettext_noop("You carry no bag with stock."),
    gettext_noop("Only an acute nurse of the function carries a bag."),
    gettext_noop("You may move stock only in your own bag."),
    gettext_noop("You may count only your own bag."),
    # A number typed on a page (core.validation.typed_number).
    gettext_noop(
        "Write the number with digits only, and a comma as decimal separator (for example 38,5)."
    ),
    gettext_noop(
        "Write the number without a dot as thousands separator: 1000, or with a comma as decimal separator: 1,5."
    ),
    gettext_noop("You may see only your own bag."),
    gettext_noop("Filter on received or accepted."),
    gettext_noop(
        "State why in words (at least 10 letters or digits): break-the-glass needs a reason."
    ),
    gettext_noop("Only clinicians may break the glass."),
    gettext_noop("Only a Consent in force (status active) is recorded; end one with $withdraw."),
    gettext_noop("The transaction Bundle has no entries."),
    gettext_noop("POST /fhir takes a Bundle of type transaction."),
    gettext_noop("At most 1000 entries per transaction."),
    gettext_noop("Stock moves only for a named member of staff."),
    gettext_noop("Act for the acute function."),
    gettext_noop("Only the acute function keeps this stock."),
    gettext_noop("Only the medicine officer handles the cabinet."),
    gettext_noop("No test with this code in the catalogue."),
    gettext_noop("No procedure with this code in the catalogue."),
    # R2's fixed refusals as consent.fhir.datatypes.RecordRefused words them.
    gettext_noop(
        "R2 permitted data only: a hospital contact names the hospital department as serviceProvider."
    ),
    gettext_noop("R2 permitted data only: a resource has exactly one data category."),
    gettext_noop(
        "R2 permitted data only: a hospital contact holds only department, period, class and status; no extensions on them."
    ),
    gettext_noop(
        "R2 permitted data only: a hospital contact holds only department, period, class and status; no extensions."
    ),
    gettext_noop("No test or procedure with this code."),
    gettext_noop("A citizen with this CPR number is already registered."),
    gettext_noop("The GP must be a GP practice."),
    gettext_noop("The residence must be a municipality."),
    gettext_noop("provision.actor references Organization/<id> or Practitioner/<id>."),
    gettext_noop("This directive is already withdrawn."),
    gettext_noop("provision.dataPeriod is supported on refusals (provision.type deny) only."),
    gettext_noop("Say how it was given: oral or written."),
    gettext_noop("provision.actor names an unknown organisation."),
    gettext_noop("provision.actor names an unknown professional."),
    gettext_noop("provision.type is deny or permit."),
    gettext_noop(
        "policyRule is OPTOUT (a refusal) or OPTIN (a consent) in http://terminology.hl7.org/CodeSystem/v3-ActCode."
    ),
    gettext_noop(
        "policyRule and provision.type disagree: a refusal (deny) is OPTOUT, a consent (permit) is OPTIN."
    ),
    gettext_noop(
        "provision.period has already ended: a directive is in force from the moment it is recorded, so its end must lie ahead."
    ),
    gettext_noop("Consent is recorded by a member of staff."),
    gettext_noop(
        "provision.purpose names neither ETREAT nor HSYSADMIN: an emergency overrides a refusal only through break-the-glass (R4), and the audit of who saw the record is the citizen's own insight (R5, R9); a directive of either would change nothing."
    ),
    gettext_noop(
        "scope is patient-privacy (http://terminology.hl7.org/CodeSystem/consentscope): a directive is the citizen's say over who sees her shared record, not a consent to treatment or research."
    ),
    gettext_noop("Unknown action."),
    gettext_noop("This lot has been recounted."),
    gettext_noop("Only the medicine officer approves counts."),
    gettext_noop("No such line in this count."),
    gettext_noop("No such line."),
    gettext_noop("No such count."),
    gettext_noop("This count is no longer open."),
    gettext_noop("Only a submitted count can be approved."),
    gettext_noop("The recount still differs: give a reason code."),
    gettext_noop("Recount the lines that differed first."),
    gettext_noop(
        "Stock has left a lot since it was counted, so the shortfall counted is more than is left; nothing was booked. The count is open again: recount the lots marked."
    ),
    gettext_noop(
        "The count was opened and submitted again while it was being approved; nothing was booked. Approve it again."
    ),
    gettext_noop("No medicine has that ATC code: give its code at the fifth level, as in N02BE01."),
    gettext_noop("The first count matched; no recount needed."),
    gettext_noop("Your role may not count stock."),
    gettext_noop("The CPR number must be given as text."),
    gettext_noop("A CPR number has exactly 10 digits (DDMMYY-SSSS)."),
    gettext_noop("The CPR number's birth date lies in the future."),
    gettext_noop("The first six digits of a CPR number must be a valid date."),
    gettext_noop("A computed result cannot be delegated."),
    gettext_noop("This task is already delegated on this visit."),
    gettext_noop("The nurse has reached her load limit."),
    gettext_noop("The nurse lacks a skill the referral requires."),
    gettext_noop("The nurse is off or on a break."),
    gettext_noop("The nurse is not on shift now."),
    gettext_noop("The nurse's acute function does not serve the citizen's municipality."),
    gettext_noop("The nurse's shift does not cover the planned time."),
    gettext_noop("The episode is closed."),
    gettext_noop("The episode is already closed."),
    gettext_noop("Unknown outcome."),
    gettext_noop("The version is a whole number."),
    gettext_noop('Say which version you are updating (If-Match: W/"n" or meta.versionId).'),
    gettext_noop("If-Match and meta.versionId name different versions; name the one you read."),
    gettext_noop(
        "The citizen's refusal names you: another member of staff records its withdrawal or a consent that lifts it."
    ),
    gettext_noop(
        "The citizen's refusal names your organisation: someone outside it records its withdrawal or a consent that lifts it."
    ),
    gettext_noop(
        "Break-the-glass opens the record for a short time; it does not lift the citizen's refusal. Staff with a care relationship record the citizen's change."
    ),
    gettext_noop("The id in the body differs from the URL."),
    gettext_noop("The body of an update must carry the id in the URL."),
    gettext_noop(
        "Conditional create (If-None-Exist) is not supported; nothing was created."
        " Search first, then create."
    ),
    gettext_noop("Conditional create (request.ifNoneExist) is not supported; nothing was created."),
    gettext_noop(
        "If-None-Match is not served on a create or an update; nothing was written."
        " An update names the version it replaces with If-Match."
    ),
    gettext_noop(
        "If-Match names the version an update (PUT) replaces; a POST replaces none."
        " Nothing was written."
    ),
    gettext_noop(
        "request.ifMatch names the version an update replaces; a POST entry replaces none."
        " Nothing was written."
    ),
    gettext_noop("request.ifNoneMatch is not served on a create; nothing was written."),
    gettext_noop("No answer in the format asked for: leave format out, or ask for format=json."),
    gettext_noop("Accept refuses (q=0) every format this address answers in."),
    gettext_noop("The body must be one FHIR resource (a JSON object)."),
    gettext_noop("$withdraw takes a Parameters resource."),
    gettext_noop("resourceType is missing."),
    gettext_noop("This FHIR resource type is not served here; see /fhir/metadata."),
    gettext_noop(
        "This FHIR resource type or interaction is not implemented here; see /fhir/metadata."
    ),
    gettext_noop("Post a ServiceRequest resource."),
    gettext_noop("Period is day or month."),
    gettext_noop("Analysts get the figures by month."),
    gettext_noop("The end is before the start."),
    gettext_noop("The start must be the first day of a month."),
    gettext_noop("The end must be the last day of a month."),
    gettext_noop("Analysts get the figures of months that have ended."),
    gettext_noop("At most a year at a time."),
    gettext_noop("Only the medicine officer keeps the formulary."),
    gettext_noop("This kind of partner is not sent this kind of message."),
    gettext_noop("CKD-EPI 2021 applies to adults (18 years or older); eGFR is not computed."),
    gettext_noop("Give at least one result."),
    gettext_noop("At most 50 results at a time."),
    gettext_noop("Creatinine must be above zero."),
    gettext_noop("A result value must be a number."),
    gettext_noop("Cabinets belong to the acute function."),
    gettext_noop("No such stock location."),
    gettext_noop("This lot is already recalled."),
    gettext_noop("Give the batch number."),
    gettext_noop("This lot has already expired."),
    gettext_noop("This lot has expired and may not be used."),
    gettext_noop("This batch is already known with another expiry date."),
    gettext_noop("This lot has not expired."),
    gettext_noop("No such lot."),
    gettext_noop("This lot is not recalled."),
    gettext_noop("This lot is recalled and may not be received."),
    gettext_noop("This lot is recalled and may not be used."),
    gettext_noop("That lot is of another medicine."),
    gettext_noop("This medicine is no longer in the formulary."),
    gettext_noop("No such medicine in the formulary."),
    gettext_noop("No such notification."),
    gettext_noop("Your user has no authorisation id; a written order cannot be entered."),
    gettext_noop("Say why the order is cancelled."),
    gettext_noop("Say why the result is entered in error."),
    gettext_noop("This result is already marked entered in error."),
    gettext_noop(
        "The corrected value is the value recorded; withdraw the result instead "
        "if it should not stand."
    ),
    gettext_noop("The order was cancelled."),
    gettext_noop("The order is already cancelled."),
    gettext_noop(
        "This medicine is dependence-forming (§4): it cannot be ordered by phone. The physician must enter a written electronic order."
    ),
    gettext_noop("The dose must be above zero."),
    gettext_noop(
        "Give the medicine's ATC code: a letter, two digits, two letters and two digits (e.g. N02BE01)."
    ),
    gettext_noop(
        "No medicine has that ATC code: its first letter is none of the ATC classification's anatomical main groups (A, B, C, D, G, H, J, L, M, N, P, R, S, V)."
    ),
    gettext_noop("Only a physician can enter a written order."),
    gettext_noop(
        "A phone order is recorded only after you read it back to the physician and the physician confirmed it (R8)."
    ),
    gettext_noop("Only a message that failed or was withheld can be re-sent."),
    gettext_noop("A home address needs line, a four-digit postalCode and city."),
    gettext_noop(
        "A citizen's CPR number is not changed by an update; it follows the CPR register."
    ),
    gettext_noop("birthDate does not agree with the CPR number; leave it out or correct it."),
    gettext_noop("gender does not agree with the CPR number; leave it out or correct it."),
    gettext_noop("Your role does not register citizens."),
    gettext_noop("You may register residents of the municipalities your organisation serves only."),
    gettext_noop(
        "A citizen with this CPR number is already registered. Find them with POST /fhir/Patient/_search (identifier in the body) instead of registering again."
    ),
    gettext_noop("latitude is -90..90 and longitude -180..180."),
    gettext_noop("generalPractitioner names no known GP practice."),
    gettext_noop("The municipality code names no known municipality."),
    gettext_noop("name needs family and given names."),
    gettext_noop("The prescription is already marked sent."),
    gettext_noop("Unknown procedure status."),
    gettext_noop(
        "X-Purpose-Of-Use is one of treatment, emergency, operations, analysis, audit (or TREAT, ETREAT, HOPERAT, HRESCH, HSYSADMIN)."
    ),
    gettext_noop("Your role may not state this purpose of use."),
    gettext_noop("Give the quantity as an exact decimal string."),
    gettext_noop("The quantity is not a number."),
    gettext_noop("At most three decimals and below one billion."),
    gettext_noop("A counted quantity cannot be negative."),
    gettext_noop("The quantity must be greater than zero."),
    gettext_noop("Give the reason for the recall."),
    gettext_noop("Only the medicine officer recalls a lot."),
    gettext_noop("Deliveries are received into a cabinet."),
    gettext_noop("Only the medicine officer receives deliveries."),
    gettext_noop("Name the supplier and the delivery reference."),
    gettext_noop("A nursing problem needs a code or a text."),
    gettext_noop("The writer acts for no organisation."),
    gettext_noop("An update cannot move a resource to another citizen."),
    gettext_noop("A nurse is already assigned to this referral."),
    gettext_noop("Only an accepted referral that has not ended can have its urgency changed."),
    gettext_noop("A nurse has already reached the citizen on this referral."),
    gettext_noop("The referral already has this urgency."),
    gettext_noop(
        "Someone else changed this referral after your page showed it. It is shown again as it is now; nothing was saved, decide again."
    ),
    gettext_noop("Give the reason for changing the urgency."),
    gettext_noop("The citizen is registered deceased."),
    gettext_noop(
        "The episode has ended, so the referral's page no longer shows the citizen's data (R1: only while the episode is open). What happened, such as the citizen's death, and whom to tell the outcome are shown on the board."
    ),
    gettext_noop("ServiceRequest.subject needs the CPR identifier or a Patient reference."),
    gettext_noop("Give the citizen (citizen_id or cpr)."),
    gettext_noop("The citizen_id and the CPR number name different citizens."),
    gettext_noop(
        "Only an active ServiceRequest is taken in as a referral; a referral is withdrawn or changed by phoning the acute function's coordinator."
    ),
    gettext_noop("A nurse has already completed a visit on this referral; plan a follow-up."),
    gettext_noop("A follow-up is planned for a time to come."),
    gettext_noop("No citizen with that identity is registered; check the CPR number."),
    gettext_noop("This referral id was already used by your organisation for another citizen."),
    gettext_noop(
        "A referral was already received under this id with other content; a resend does not change it. Phone the acute function's coordinator to change a referral."
    ),
    gettext_noop("The citizen's municipality does not take part in the joint acute function."),
    gettext_noop(
        "The CPR number is not valid: 10 digits, the first six a date of birth (DDMMYY-SSSS)."
    ),
    gettext_noop(
        "A phone number is 4 to 15 digits, optionally with a leading +, spaces or dashes"
        " and an extension (lok. 12)."
    ),
    gettext_noop("Your organisation does not refer to the acute function this way."),
    gettext_noop("Only an accepted referral that is not closed can be dispatched."),
    gettext_noop("Say who referred (gp, 1813, ...)."),
    gettext_noop("Unknown priority."),
    gettext_noop("Text must be valid Unicode; a lone surrogate was found."),
    gettext_noop("The request body is empty."),
    gettext_noop("The request body must be a JSON object."),
    gettext_noop("The request body is not UTF-8."),
    gettext_noop("The request body starts with a byte order mark; send UTF-8 without it."),
    gettext_noop("The request body is not UTF-8 (UTF-16 or UTF-32 was sent)."),
    gettext_noop("JSON has no NaN or Infinity; send a number or leave the field out."),
    gettext_noop("A number in the body is too large."),
    gettext_noop("birthdate is [prefix]YYYY, YYYY-MM or YYYY-MM-DD, e.g. ge1940-01-01."),
    gettext_noop("date is [prefix]YYYY-MM-DD, e.g. ge2024-01-01."),
    gettext_noop("Unknown count status."),
    gettext_noop("year must be a year."),
    gettext_noop("medicine must be an id."),
    gettext_noop("location must be an id."),
    gettext_noop("outcome must be 0 or 4."),
    gettext_noop("The platform answers in FHIR JSON."),
    gettext_noop("The platform answers in FHIR JSON: _format is json or application/fhir+json."),
    gettext_noop("The platform answers in FHIR R4 (fhirVersion=4.0)."),
    gettext_noop("A body is read as FHIR R4 JSON in UTF-8 (charset=utf-8, fhirVersion=4.0)."),
    gettext_noop("_id is a Patient id (digits)."),
    gettext_noop("encounter must be Encounter/visit-<id>."),
    gettext_noop("Search by patient (a Patient id)."),
    gettext_noop("patient is a Patient id (CPR search is POST /fhir/Patient/_search)."),
    gettext_noop("Consent search needs patient."),
    gettext_noop("Search by patient: ?patient=Patient/<id>."),
    gettext_noop("Only acute nurses of this acute function can be put on its rota."),
    gettext_noop("Her role as an acute nurse ends before the shift does."),
    gettext_noop(
        "The nurse's role as an acute nurse of this acute function has ended or is switched off."
    ),
    gettext_noop("No such shift."),
    gettext_noop("A shift must end after it starts."),
    gettext_noop("A shift lasts at most 24 hours."),
    gettext_noop("A shift can be put on the rota at most a week after it began."),
    gettext_noop("A shift can be planned at most a year ahead."),
    gettext_noop("No such nurse."),
    gettext_noop("The nurse already has a shift in that period."),
    gettext_noop("Latitude or longitude out of range."),
    gettext_noop("Unknown skills."),
    gettext_noop("Unknown status."),
    gettext_noop(
        "En route and on a visit follow her visits; set by hand: available, on a break, off."
    ),
    gettext_noop(
        "She is on her way to or with a citizen: her status follows that visit until it is completed."
    ),
    gettext_noop(
        "She still has visits assigned: the coordinator reassigns or withdraws them before she goes off."
    ),
    gettext_noop("She still has visits assigned: reassign or withdraw them before she goes off."),
    gettext_noop("The message has already been answered or marked handled."),
    gettext_noop("A nurse is with the citizen: she completes her visit first."),
    gettext_noop(
        "No medicine keeps for more than ten years; check the expiry date on the package."
    ),
    gettext_noop("There is none of this lot here."),
    gettext_noop("Your bag holds no usable lot of this medicine."),
    gettext_noop("The form's reference must be 8-64 letters, digits, '-' or '_'."),
    gettext_noop(
        "This reference came before with another entry; nothing was saved. Send the entry again as a new one."
    ),
    gettext_noop("Unknown form."),
    gettext_noop("The time lies in the future."),
    gettext_noop("Give the time with its offset from UTC, e.g. +01:00 or Z."),
    gettext_noop("This time does not exist in Copenhagen: the clocks skip from 02:00 to 03:00."),
    gettext_noop(
        "This time occurs twice in Copenhagen (the clocks go back from 03:00 to 02:00): give it with its offset, +02:00 (summer time) or +01:00 (winter time)."
    ),
    gettext_noop(
        "This time occurs twice in Copenhagen (the clocks go back from 03:00 to 02:00): choose which of the two you mean."
    ),
    gettext_noop("The time lies outside the years 1 to 9999 in UTC."),
    gettext_noop("The dates must lie in the years 2000 to 2100."),
    gettext_noop("Stock moves between a cabinet and a bag, either way."),
    gettext_noop("The time to accept has passed; ask the coordinator."),
    gettext_noop("That visit is no longer active."),
    gettext_noop("No such visit."),
    gettext_noop("No such visit on this referral."),
    gettext_noop("Medicine is given on the visit, with the nurse on site."),
    gettext_noop("Document on a visit once on site."),
    gettext_noop("Only the assigned nurse moves a visit forward."),
    gettext_noop("Only a citizen treated at home can keep the episode open for a follow-up."),
    gettext_noop("Unknown step."),
    gettext_noop("The nurse is already on her way or on site."),
    gettext_noop("Only an assignment not yet accepted can be declined."),
    gettext_noop("Unknown note kind."),
    gettext_noop("No measurements given."),
    gettext_noop("Measurements cannot be in the future."),
    gettext_noop("Measurements cannot be from before the visit was assigned."),
    gettext_noop("The time lies before the visit was assigned."),
    gettext_noop("The time lies before the citizen was referred to the acute function."),
    gettext_noop("The time lies after the citizen's registered death."),
    gettext_noop("Measurements cannot be from after the citizen's registered death."),
    gettext_noop("The time of death lies in the future."),
    gettext_noop("The time of death lies before the citizen was born."),
    gettext_noop("The citizen is registered deceased; no dose is given after her death."),
    gettext_noop(
        "The citizen is registered deceased, so the referral is neither received nor accepted."
    ),
    gettext_noop(
        "A death is registered with its time: send deceasedDateTime, not deceasedBoolean true."
    ),
    gettext_noop(
        "The citizen is registered deceased, so an admission cannot be received. A death reported in error is corrected with Patient.deceasedBoolean false."
    ),
    gettext_noop(
        "The citizen is registered deceased: the episode ends with the outcome died, not another."
    ),
    gettext_noop("The value must be a number."),
    gettext_noop("The warning is already acknowledged."),
    gettext_noop("Say what happened."),
    gettext_noop("Give one of the waste reasons."),
    gettext_noop("The witness's username or password is wrong."),
    gettext_noop(
        "The witness must be an acute nurse or the medicine officer of the acute function."
    ),
    gettext_noop("The witness must be someone else."),
    gettext_noop(
        "The witness must be on duty: the medicine officer, or an acute nurse on her shift."
    ),
    gettext_noop(
        "Stock is taken into your bag only on your shift, at most 30 minutes before it starts."
    ),
    gettext_noop("The note is empty."),
    gettext_noop("Name the physician holding treatment responsibility (behandlingsansvar)."),
    gettext_noop("Give the phone number of the physician holding treatment responsibility."),
    gettext_noop("Name the referrer."),
    gettext_noop("Give a call-back number for the referrer."),
    gettext_noop("Give the reason for declining; it is sent to the referrer."),
    gettext_noop(
        "Entries of this month still wait for their place in the log; archive it once the sequencer has placed them."
    ),
    gettext_noop("A value in the request cannot be recorded in the audit log; nothing was done."),
    gettext_noop("This entry has already been reviewed."),
    gettext_noop(
        "A citizen with this CPR number or replacement CPR is already registered. Find them with POST /fhir/Patient/_search (identifier in the body) instead of registering again."
    ),
    gettext_noop(
        "A citizen's CPR number and replacement CPR are not changed by an update; they follow the CPR register and the eCPR issuer."
    ),
    gettext_noop("The replacement CPR must be given as text."),
    gettext_noop("The first six characters of a replacement CPR must be a past date."),
    gettext_noop("Search by patient."),
    gettext_noop("Your role may not use this endpoint."),
    gettext_noop("This type is not searched here; see /fhir/metadata."),
    gettext_noop("A citizen needs a CPR number or a replacement CPR."),
    gettext_noop("A citizen with this replacement CPR is already registered."),
    gettext_noop("The referral must name the 1813 physician (Practitioner with a phone number)."),
    gettext_noop("The Encounter needs an identifier."),
    gettext_noop("A follow-up needs the discharging physician (Practitioner with a phone number)."),
    gettext_noop(
        "A hospital notification's Encounter must be in-progress (admitted) or finished (discharged)."
    ),
    gettext_noop("The HospitalNotification needs a Provenance with the activity of this message."),
    gettext_noop("The Encounter needs the episode-of-care identifier of the hospital stay."),
    gettext_noop("This activity is not one of MedCom's HospitalNotification activities."),
    gettext_noop("A message must be a FHIR Bundle."),
    gettext_noop("The Bundle type must be 'message'."),
    gettext_noop("The message Bundle has no entries."),
    gettext_noop("The first entry of a message must be its MessageHeader."),
    gettext_noop("Bundle.id and MessageHeader.id are both required."),
    gettext_noop("A value in the message cannot be stored."),
    gettext_noop(
        "The Patient must carry a CPR identifier (urn:oid:1.2.208.176.1.2) or a replacement CPR (X-eCPR or D-eCPR)."
    ),
    gettext_noop("The citizen is not known to the platform."),
    gettext_noop("The message carries no record resources."),
    gettext_noop("The Patient's municipality code is missing or unknown."),
    gettext_noop("A new citizen's address needs its geolocation (latitude and longitude)."),
    gettext_noop("A new citizen needs a name and a home address."),
    gettext_noop("Unknown ServiceRequest.priority."),
    gettext_noop("The referral must state its reason."),
    gettext_noop("The referral must state its urgency (ServiceRequest.priority)."),
    gettext_noop("State the urgency: within 2 hours, within the shift or next day."),
    gettext_noop("A count of this location is already under way."),
    gettext_noop("This lot is already counted; recount it instead."),
    gettext_noop("Your organisation is not one the platform knows."),
    gettext_noop(
        "This sign-in service does not speak for the organisation it named."
        " Sign in through your own organisation's sign-in."
    ),
    gettext_noop("Your role is not one you can sign in to the platform with."),
    gettext_noop("Your access to the platform has been withdrawn."),
    gettext_noop("Unknown client or wrong secret."),
    gettext_noop("This client may no longer ask for tokens."),
    gettext_noop("The scope asks for more than this client was registered with."),
    gettext_noop(
        "This batch is already received on this delivery reference; nothing was booked twice."
    ),
    # Refusals written by core.exception_handler and core.views for REST
    # framework's and Django's own errors, in the request's language as any other.
    gettext_noop("Log in first."),
    gettext_noop("No such resource."),
    gettext_noop("No such page or resource."),
    gettext_noop("Not allowed."),
    gettext_noop("The request could not be understood."),
    gettext_noop("This conflicts with data saved meanwhile; nothing was saved."),
    gettext_noop("Something went wrong on our side; it has been logged."),
    gettext_noop("The request body is empty; a FHIR JSON resource was expected."),
    gettext_noop("A FHIR resource must be a JSON object with a resourceType."),
    gettext_noop("Confirm the phone order before you mark its prescription sent."),
    gettext_noop(
        "This entry was made on the tablet by another user. It is sent only while she is logged in; nothing was saved."
    ),
    gettext_noop(
        "Your organisation's municipality no longer takes part in the acute function; you have no access to citizens' data here."
    ),
    gettext_noop("Choose the date of the requested time."),
    gettext_noop("The requested date or time cannot be read."),
    gettext_noop("The figures take start, end, period and output."),
    gettext_noop("Dates as YYYY-MM-DD."),
    gettext_noop("The Patient gives more than one municipality of residence."),
    gettext_noop(
        "A CPR number names one citizen: identifier is searched alone (with _count, _offset or _summary at most)."
    ),
    gettext_noop(
        "ServiceRequest.subject names someone other than the message's Patient; a referral is about the citizen the message carries."
    ),
    gettext_noop("Only a message that failed or was withheld can be marked handled."),
    gettext_noop("Another coordinator has already handled the message."),
    gettext_noop("Acknowledgement recorded."),
    gettext_noop("MessageHeader.response.code must be ok, transient-error or fatal-error."),
    # What a partner reads in the acknowledgement of a message refused
    # (integrations.inbound, integrations.care_threads, integrations.hospital).
    gettext_noop("No such message to this partner."),
    gettext_noop(
        "The message was already acknowledged otherwise; the first acknowledgement stands."
    ),
    gettext_noop("The platform has no sender."),
    gettext_noop("Bundle.id: already used by another message; a Bundle.id is never reused."),
    gettext_noop("This partner may not send this kind of message to the platform."),
    gettext_noop("The database was briefly unavailable."),
    gettext_noop("A concurrent change; send again."),
    gettext_noop(
        "The Patient is not a citizen the acute function serves (matched by CPR number or replacement CPR)."
    ),
    gettext_noop(
        "An attachment's type is not one MedCom allows (PDF, BMP, GIF, JPEG, PNG or TIFF)."
    ),
    gettext_noop(
        "The message answers a message this platform never sent to this partner in this thread."
    ),
    gettext_noop("The thread identifier belongs to a conversation about another citizen."),
    gettext_noop(
        "The citizen's municipality does not take part in the joint acute function and she has no open referral there."
    ),
    gettext_noop("The message continues a conversation this platform never had with this partner."),
    gettext_noop("A message segment's text is empty (only blank characters)."),
    gettext_noop("The thread identifier belongs to another conversation."),
    gettext_noop("The hospital stay this message names is another citizen's."),
    gettext_noop(
        "The message names as removed a message this platform never received from this partner about this citizen."
    ),
    gettext_noop(
        "The citizen's CPR number is the identifier with use official (DK-core); leave out an old or secondary CPR number."
    ),
    gettext_noop("Give one name with use official: the name in the CPR register."),
    gettext_noop("A citizen has one home address: give one address with use home."),
    gettext_noop("Give one phone number, or rank the one to call first (rank 1)."),
    gettext_noop("A citizen has one GP practice: give one generalPractitioner."),
    gettext_noop("The platform keeps only active citizens; leave out active or set it to true."),
    gettext_noop("The Patient carries more than one CPR number."),
    # A referral withdrawn by the coordinator (acute.services.withdrawals).
    gettext_noop("Choose why the referral is withdrawn."),
    gettext_noop("Write a note saying why the referral is withdrawn."),
    gettext_noop(
        "A nurse is with the citizen: she ends her visit with its outcome, and the referral with it."
    ),
    gettext_noop(
        "A nurse has already seen the citizen on this referral: close the episode with its outcome instead."
    ),
    gettext_noop("A nurse is on her way: confirm that she is called back."),
    gettext_noop("The Patient carries more than one replacement CPR number."),
    # A confirmation or prescription received by another route (R8,
    # acute.clinical.services.order_follow_up.medication_order_received_record).
    gettext_noop(
        "Only the coordinator records a confirmation or prescription received by another route."
    ),
    gettext_noop("Choose how the confirmation or prescription was seen."),
    gettext_noop("Say whether the confirmation, the prescription or both were received."),
    gettext_noop(
        "The ordering physician is a user of the platform: she confirms the order and marks the prescription sent herself."
    ),
    gettext_noop("You took this order down: another member of staff records its confirmation."),
    # A withdrawal the physician, no user of the platform, phoned in (R8,
    # acute.clinical.services.order_follow_up.medication_order_cancel).
    gettext_noop("Only the coordinator records a withdrawal the physician phoned in."),
    gettext_noop("Write the name of the physician who phoned."),
    gettext_noop("The call to withdraw the order cannot be earlier than the order itself."),
    gettext_noop("Write when the physician phoned as a date and a time."),
    gettext_noop(
        "The ordering physician is a user of the platform: she withdraws the order herself."
    ),
    # A step or an entry the tablet queued, judged at the time she took it
    # (acute.services.step_time, portal.visit_forms.offline_moment).
    gettext_noop("The time of the step lies in the future; check the tablet's clock."),
    gettext_noop(
        "The step lies more than a day back and is not recorded; tell the coordinator when it happened."
    ),
    gettext_noop("The time of the step lies before the step before it."),
    gettext_noop(
        "The tablet sent no readable time for this entry, so it is not recorded; enter it again and note when it was done."
    ),
    gettext_noop(
        "The tablet's time for this entry lies in the future, so it is not recorded; check the tablet's clock, enter it again and note when it was done."
    ),
    gettext_noop(
        "This entry was made more than a day before it reached the server and is not recorded; enter it again and note when it was done."
    ),
    gettext_noop(
        "The form in the body cannot be read: send it as application/x-www-form-urlencoded in UTF-8, or as multipart/form-data with its boundary. Nothing was searched or written."
    ),
    gettext_noop(
        "The address's query string holds bytes that are not UTF-8 once its escapes are undone; send each parameter's text in UTF-8. Nothing was searched or written."
    ),
)

TEMPLATES: dict[str, Promise] = {
    "lab.withdraw_reason_too_long": _("Write the reason in at most %(max)s characters."),
    "lab.derived_follows_source": _(
        "%(test)s is computed from its source test: correct or withdraw that result,"
        " and this one follows."
    ),
    "shift.kind_mismatch": _(
        "Most of a shift of this kind lies between %(start)s and %(end)s (Danish time);"
        " choose the kind that matches its hours."
    ),
    "referral.occurrence_too_far_ahead": _(
        "The requested time for the visit is more than %(days)s days ahead; the acute function"
        " plans visits at most %(days)s days ahead."
    ),
    "vital_signs.value_out_of_range": _("The value must be between %(low)s and %(high)s %(unit)s."),
    "lab.value_implausible": _(
        "%(test)s: the value lies outside what can be measured in a living person "
        "(%(low)s to %(high)s %(unit)s); check the sample and the entry."
    ),
    "lab.unit_mismatch": _("%(test)s is reported in %(unit)s; the unit given does not match."),
    "lab.derived_result": _("%(test)s is computed by the platform from its source test."),
    "delegation.not_required": _("%(test)s is a predefined task (R7) and needs no delegation."),
    "clinical.delegation_required": _(
        "%(test)s is not one of the predefined tests (R7): a physician's delegation "
        "for this citizen and this task must be recorded on the visit first."
    ),
    "clinical.delegation_after_task": _(
        "%(test)s was taken or done before the physician delegated it (R7): a "
        "delegation covers only what is done after it was given."
    ),
    "stock.insufficient": _("Only %(left)s left of this lot here; %(asked)s asked for."),
    "stock.balance_too_large": _(
        "%(held)s of this lot is here already; %(asked)s more is more than one place can hold"
        " of one lot."
    ),
    "witness.required": _(
        "%(medicine)s is dependence-forming (§4): every movement needs a witness."
    ),
    "lot.batch_too_long": _("A batch number has at most %(most)s characters."),
    "recall.reason_too_long": _("The reason for a recall has at most %(most)s characters."),
    "order.medicine_name_mismatch": _(
        "The medicine's name does not match ATC code %(atc)s, which the formulary knows"
        " as %(known)s: ask the physician again."
    ),
    "medicine.dependence_forming_required": _(
        "%(medicine)s (%(atc)s) is dependence-forming (§4): it must be marked so,"
        " and every movement of it needs a witness."
    ),
    "medicine.dependence_forming_otc": _(
        "%(medicine)s is dependence-forming (§4) and cannot be over the counter:"
        " it is prescription-only."
    ),
    "unit.mismatch": _("%(medicine)s is counted in %(unit)s, not in the unit given."),
    "quantity.whole_units": _(
        "%(medicine)s is counted in whole units (%(unit)s): %(quantity)s is not a whole number."
    ),
    "waste.rest_mismatch": _(
        "The rest of the opened unit here is %(rest)s %(unit)s; waste that, or whole units."
    ),
    "dose.indivisible_form": _(
        "%(medicine)s (%(unit)s) cannot be divided: give a whole number, not %(quantity)s. Nothing was given."
    ),
    "order.given_before_order": _(
        "The dose was given %(given)s, before the order for %(medicine)s (no. %(order)s) was made %(ordered)s; it cannot be recorded against that order. Nothing was recorded."
    ),
    "dose.tablet_halves": _(
        "%(medicine)s (%(unit)s) is divided only on its score: give whole or half tablets, not %(quantity)s. Nothing was given."
    ),
    "count.incomplete": _("%(n)s lot(s) held here are not counted yet."),
    "request.already_received": _(
        "This request was received at %(received)s and answered %(status)s; nothing was done again."
    ),
    "request.malformed": _(
        "The request body is not valid JSON (line %(line)s, column %(column)s)."
    ),
    # R2 at the door of the shared record (consent.fhir), with the element and
    # the code system it names.
    "record.psychiatric_diagnosis": _(
        "R2 permitted data only: %(element)s is coded in %(classification)s; psychiatric diagnoses are not shared."
    ),
    # R2 on free text that leaves the acute function or enters the shared
    # record (consent.fhir.judge_free_text): the code as it was written.
    "record.psychiatric_code_in_text": _(
        "R2 permitted data only: the text names the psychiatric diagnosis code %(code)s; psychiatric diagnoses are not shared."
    ),
    "record.code_system_missing": _(
        "R2 permitted data only: %(element)s has no system; a code is judged by its system, so every coding names it."
    ),
    "record.diagnosis_system_unknown": _(
        "R2 permitted data only: %(element)s is in a system R2 cannot judge; a diagnosis is coded in %(systems)s."
    ),
    "record.diagnosis_code_required": _(
        "R2 permitted data only: %(element)s needs a code in %(systems)s, or it cannot be judged."
    ),
    "record.diagnosis_code_invalid": _(
        "R2 permitted data only: %(element)s is not shaped as a %(classification)s code, so it cannot be judged."
    ),
    "record.type_not_permitted": _(
        "R2 permitted data only: %(type)s is not part of the shared record."
    ),
    "record.category_missing": _(
        "R2 permitted data only: every resource must carry its data category as meta.tag in %(system)s."
    ),
    "record.category_not_permitted": _(
        "R2 permitted data only: %(category)s is not a permitted category (%(allowed)s)."
    ),
    "record.category_type_mismatch": _(
        "R2 permitted data only: category %(category)s is held as %(wanted)s, not %(type)s."
    ),
    "record.service_not_permitted": _(
        "R2 permitted data only: every type of municipal help is one of %(services)s in %(system)s."
    ),
    "record.contact_detail_not_permitted": _(
        "R2 permitted data only: a hospital contact holds only department, period, class and status; not %(elements)s."
    ),
    "record.contained_not_permitted": _(
        "R2 permitted data only: a %(kind)s is not part of the shared record; a record resource contains only %(allowed)s."
    ),
    "record.cpr_not_permitted": _(
        "R2 permitted data only: a CPR number names the citizen in the resource's %(element)s only, never elsewhere in it."
    ),
    "record.medication_not_permitted": _(
        "R2 permitted data only: %(element)s is a medicine; medication is not part of the shared record."
    ),
    "record.nursing_problem_is_diagnosis": _(
        "R2 permitted data only: %(element)s says the condition is a diagnosis; a diagnosis is shared as %(category)s, coded in %(systems)s."
    ),
    "record.subject_required": _("%(element)s is required."),
    "record.reference_invalid": _("%(element)s must reference %(kind)s/<id>."),
    "fhir.reference_unknown": _("%(element)s names a %(kind)s the platform does not hold."),
    "record.version_conflict": _(
        "The resource is at version %(current)s, not %(wanted)s; read it again."
    ),
    "bundle.entry_unsupported": _(
        "%(entry)s: each entry creates one resource (request.method POST)."
    ),
    "bundle.entry_request_incomplete": _(
        "%(entry)s: %(element)s is missing; a transaction entry states request.method (POST) and request.url (its resource's type)."
    ),
    "bundle.reference_unresolved": _(
        "%(entry)s: %(element)s points at no entry of this Bundle (fullUrl)."
    ),
    "bundle.full_url_duplicate": _("%(entry)s: two entries have the same fullUrl."),
    "bundle.entry_url_mismatch": _(
        "%(entry)s: request.url must be the type of the entry's resource (POST Condition for a Condition)."
    ),
    "fhir.type_mismatch": _("This endpoint takes %(expected)s, not %(given)s."),
    "fhir.modifier_unknown": _(
        "%(element)s changes the meaning of its element in a way the platform does not understand; nothing was written."
    ),
    "fhir.implicit_rules_unknown": _(
        "%(element)s: the resource follows rules the platform does not know; nothing was written."
    ),
    "fhir.code_outside_value_set": _(
        "%(element)s takes only the codes %(codes)s; nothing was written."
    ),
    "fhir.coding_outside_value_set": _(
        "%(element)s needs a coding of %(system)s with one of the codes %(codes)s; nothing was written."
    ),
    "fhir.date_invalid": _("%(element)s is a date or a date-time."),
    "fhir.date_out_of_range": _("%(element)s lies outside the years 1 to 9999 in UTC."),
    # Consent (R4) and the citizen's identity.
    "consent.period_invalid": _("%(element)s ends before it starts."),
    "consent.data_period_invalid": _("%(element)s ends before it starts."),
    "consent.provision_unsupported": _("%(element)s is not supported: %(why)s"),
    "consent.purpose_unknown": _("provision.purpose codes are %(codes)s."),
    "consent.given_how_required": _(
        "Say how the citizen gave it: extension %(extension)s = oral or written."
    ),
    "operation.parameter_unknown": _(
        "%(operation)s takes no parameter %(name)s; it takes only %(known)s."
    ),
    "consent.sub_units_invalid": _(
        "Say once whether the directive reaches the sub-units of the organisations it names: extension %(extension)s = true or false."
    ),
    "consent.category_unsupported": _("category is a privacy consent: %(codes)s."),
    "patient.cpr_required": _(
        "A Patient carries one CPR number (%(cpr)s) or, for a person without one, one replacement CPR (%(x_ecpr)s or %(d_ecpr)s<issuer>) as identifier."
    ),
    "patient.geolocation_required": _(
        "The home address needs its position (extension %(extension)s with latitude and longitude): nurses drive there."
    ),
    "patient.municipality_required": _(
        "The municipality of residence is the extension %(extension)s with a code in %(system)s."
    ),
    "patient.municipality_ambiguous": _(
        "A citizen lives in one municipality: give one code in %(system)s in the extension %(extension)s."
    ),
    "replacement_cpr.system_invalid": _(
        "A replacement CPR is issued under the X-eCPR system (%(x_ecpr)s) or a D-eCPR system (%(d_ecpr)s<issuer>)."
    ),
    "replacement_cpr.invalid": _(
        "A replacement CPR has 10 characters (%(kind)s: DDMMYY, %(digits)s, two capital letters, one digit)."
    ),
    "search.identifier_invalid": _(
        "identifier is %(cpr)s|<10 digits>, or a replacement CPR as %(x_ecpr)s|<X-eCPR> or %(d_ecpr)s<issuer>|<D-eCPR>, in the form body."
    ),
    "search.use_post": _(
        "A CPR number never goes in a URL. Search by CPR with POST /fhir/Patient/_search, identifier=%(system)s|<CPR number> in the form body (application/x-www-form-urlencoded); name, birthdate, gender and _id may be searched with GET."
    ),
    "search.param_unknown": _(
        "Unsupported search parameter(s): %(names)s. Supported: %(supported)s."
    ),
    "read.param_unknown": _(
        "A read answers the whole resource and takes no %(names)s; it takes %(supported)s."
    ),
    "operation.param_unknown": _(
        "%(operation)s answers in full and takes no %(names)s; it takes %(supported)s."
    ),
    "search.param_invalid": _("%(name)s must be %(expected)s."),
    "search.param_repeated": _("%(names)s may be given only once in a search here."),
    "write.param_unknown": _("This request takes no %(names)s in its address."),
    "write.param_repeated": _("%(names)s may be given only once here."),
    "write.field_unknown": _("This request takes no field %(names)s; it takes %(supported)s."),
    "write.not_boolean": _("%(name)s takes true or false, written without quotes."),
    "write.not_text": _("%(name)s takes text, written in quotes, not a number."),
    "figures.param_repeated": _("%(names)s may be given only once for the figures."),
    "search.cpr_not_searchable": _(
        "A CPR number is searched only as Patient's identifier; %(name)s takes none: search by patient=Patient/<id>."
    ),
    "search.modifier_unsupported": _("%(name)s takes no :%(modifier)s here (%(takes)s)."),
    "search.chain_unsupported": _(
        "Chained search (%(name)s) is not supported here; give %(param)s as a reference (<type>/<id>)."
    ),
    "search.date_invalid": _("%(name)s is [prefix]%(forms)s, e.g. ge2024-01-01."),
    "search.patient_required": _(
        "%(type)s is searched by %(alternatives)s, e.g. ?patient=Patient/<id>."
    ),
    # The audit log and its archive.
    "audit.param_invalid": _("%(name)s must be %(expected)s."),
    "audit.export_too_large": _(
        "The search holds more than %(limit)s entries; narrow it (time range, citizen, user)."
    ),
    "audit.size_beyond_tree": _("The log has %(size)s entries; no proof for a larger size."),
    "audit.archive_month_not_over": _(
        "%(month)s has not ended; a month is archived once it is over."
    ),
    "audit.archive_file_exists": _("%(file)s already exists in the archive."),
    "audit.archive_within_insight": _(
        "%(month)s holds accesses a citizen's insight report lists (the last %(years)s years); it may be archived from %(from)s."
    ),
    # A partner's message read at the door (integrations): what the
    # acknowledgement tells, with the element and the values it names.
    "message.resource_count": _(
        "The message must hold exactly one %(resource_type)s; it holds %(count)s."
    ),
    "message.id_invalid": _("%(element)s must be a FHIR id: 1 to 64 letters, digits, '-' or '.'."),
    "message.datetime_invalid": _(
        "%(element)s is not a moment the platform can keep (years 1 to 9999 in UTC)."
    ),
    "hospital.occurred_in_future": _(
        "%(element)s lies in the future: a hospital notification reports what has already happened."
    ),
    "carecommunication.identifier_too_long": _(
        "The identifier is longer than the %(most)s characters the platform keeps."
    ),
    "carecommunication.time_in_future": _(
        "%(element)s lies in the future: a message tells what has already been written."
    ),
    "message.time_in_future": _(
        "%(element)s lies in the future: a message reports what has already happened."
    ),
    "record.subject_not_message_patient": _(
        "%(element)s names someone other than the message's Patient; a shared-record update is about one citizen."
    ),
    "record.reference_unresolved": _(
        "%(element)s names no resource in the message; a shared-record update refers only to what it carries."
    ),
    # The door every request body passes (core.boundary).
    "request.nul_character": _("Text may not contain a NUL character (%(where)s)."),
    "request.invalid_text": _(
        "Text must be valid Unicode; a lone surrogate was found (%(where)s)."
    ),
    "request.control_character": _(
        "Text may not contain the control character %(character)s (%(where)s)."
    ),
    "request.bidi_control": _(
        "Text may not contain %(character)s, a character that changes the direction of the text shown (%(where)s)."
    ),
    "request.invisible_character": _(
        "Text may not contain %(character)s, a character that is not shown (%(where)s)."
    ),
    "request.too_large": _("A JSON body may be at most %(limit)s bytes."),
    "request.uri_too_long": _(
        "A URL may be at most %(limit)s bytes; a long search goes in the body of a POST."
    ),
    "request.too_deep": _("JSON may nest at most %(depth)s levels."),
    "request.duplicate_key": _('The key "%(key)s" appears more than once in one JSON object.'),
    "break_glass.basis_invalid": _("Choose the basis: %(values)s."),
    "break_glass.reason_too_long": _("Write the reason in at most %(max)s characters."),
    "order.cancel_reason_too_long": _("Write the reason in at most %(max)s characters."),
    "referral.decline_reason_too_long": _("Write the reason in at most %(max)s characters."),
    "referral.text_too_long": _("Write the text in at most %(max)s characters."),
    "visit.text_too_long": _("Write the text in at most %(max)s characters."),
    "outbox.status_invalid": _("status must be one of %(values)s."),
    "order.not_awaiting_confirmation": _("The order is %(status)s, not awaiting confirmation."),
    "visit.wrong_status": _(
        "%(what)s can only be recorded while the visit is %(allowed)s; it is %(status)s."
    ),
    "visit.transition_not_allowed": _("A visit that is %(status)s cannot %(step)s."),
    "visit.outcome_unknown": _("Outcome must be one of %(values)s."),
    "vital_signs.code_unknown": _("Unknown vital sign code; use one of %(codes)s."),
    "referral.urgency_unknown": _("Urgency must be one of %(values)s."),
    "referral.skill_unknown": _("Unknown skills: %(skills)s."),
    "referral.already_triaged": _("The referral is already %(status)s."),
    "referral.already_ended": _("The referral is %(status)s and can no longer be withdrawn."),
    "referral.withdraw_reason_unknown": _("The reason must be one of %(values)s."),
    "referral.withdraw_note_too_long": _("Write the note in at most %(max)s characters."),
    "referral.retriage_reason_too_long": _("Write the reason in at most %(max)s characters."),
    "order.received_note_too_long": _("Write the note in at most %(max)s characters."),
    "order.withdrawal_phoned_by_too_long": _("Write the name in at most %(max)s characters."),
    "episode.nurse_already_going": _(
        "%(nurse)s is already going to the citizen on another referral; confirm to send a second nurse."
    ),
    "patient.version_conflict": _(
        "The Patient is at version %(current)s, not %(wanted)s; read it again."
    ),
    "request.content_encoding_unsupported": _(
        "The request body is sent with Content-Encoding %(encoding)s; send it uncompressed (identity)."
    ),
    "patient.element_unsupported": _(
        "The platform does not keep %(element)s of a Patient; leave it out."
    ),
    "patient.text_too_long": _(
        "%(element)s holds at most %(most)s characters; nothing was written."
    ),
    "referral.source_not_yours": _(
        "source is your organisation's (%(source)s); leave it out or send that."
    ),
    "record.code_too_long": _(
        "%(element)s holds at most %(most)s characters; nothing was written."
    ),
    "consent.actor_role_unsupported": _("%(element)s names a recipient of the record: %(codes)s."),
    "consent.custodian_not_recorder": _(
        "%(element)s is the organisation recording the directive, %(own)s; leave it out or name that."
    ),
}

# The part that differs where one code's template ("%(name)s must be
# %(expected)s.") serves several checks; filled from the error's other params.
WHOLE_NUMBER = _("a whole number")
WHOLE_NUMBER_FROM = _("a whole number from %(least)s to %(most)s")
REFERENCE_OR_ID = _("%(kind)s/<id> or <id>")
GIVEN_A_VALUE = _("given a value")
LIST_WITHOUT_EMPTY = _("a list with a value between each comma")
AT_MOST_IDS = _("at most %(most)s ids in one search")
INTERNAL_ID = _("an internal id (digits)")
ISO_DATE = _("an ISO date or date-time")
ONE_OF = _("one of %(allowed)s")
ONE_OR_ZERO = _("1 or 0")
TOKEN_FORMS = _("code, system|code, |code or system|")
STRING_MODIFIERS_TAKEN = _("name, family and given take :exact and :contains")
NO_MODIFIER_TAKEN = _("no modifier is supported on this parameter")
# The step a visit cannot take ("A visit that is %(status)s cannot %(step)s."):
# BECOME is filled with the status label by ``format_lazy``.
BECOME = _("become {target}")
BE_WITHDRAWN = _("be withdrawn")


def lowercase(label: Promise | str) -> str:
    """A status label (``Visit.Status.ON_SITE.label``) inside a sentence, in
    the reader's language."""
    return _lower(label)


# Evaluated when the sentence is written out, in the language active then.
_lower = lazy(lambda label: str(label).lower(), str)


def labels(choices: Iterable[Promise | str]) -> str:
    """Choice labels (``Outcome.labels``) listed inside a sentence, lower-cased
    in the reader's language. A label the model gives as plain English is
    looked up in the catalogue as the pages do (``{% trans label %}``)."""
    return _labels(tuple(choices))


_labels = lazy(
    lambda choices: ", ".join(
        (gettext(c) if isinstance(c, str) else str(c)).lower() for c in choices
    ),
    str,
)


def label(english: str) -> str:
    """A label the model keeps in English (a test's display, exchanged as a
    FHIR code display) inside a sentence, in the reader's language as the
    pages show it (``{% trans value %}``)."""
    return _label(english)


_label = lazy(gettext, str)


def either(alternatives: Iterable[Promise | str]) -> Promise:
    """Alternatives inside a sentence joined by "or" in the reader's language
    (``patient=… eller subject=…``)."""
    parts = tuple(alternatives)
    return format_lazy(
        " {0} ".join(f"{{{i + 1}}}" for i in range(len(parts))),
        pgettext_lazy("either this or that", "or"),
        *parts,
    )


DATE_OR_DATE_TIME = _("YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss]+01:00")

# A sentence per code whose English message is built from values.
BY_CODE: dict[str, Promise] = {
    "lab.derived_follows_source": _("This result follows its source test; correct that one."),
    "lab.withdraw_reason_too_long": _("Write the reason shorter."),
    "shift.kind_mismatch": _("The shift's kind does not match its hours."),
    "vital_signs.code_unknown": _("Unknown vital sign."),
    "vital_signs.value_out_of_range": _("The value lies outside the possible range."),
    "lab.value_implausible": _("The value cannot be real; check the sample and the entry."),
    "lab.unit_mismatch": _("The unit does not match the test."),
    "lab.derived_result": _("This result is computed by the platform, not entered."),
    "catalogue.unknown": _("No test or procedure with this code."),
    "stock.insufficient": _("There is not enough of this lot here."),
    "stock.balance_too_large": _("That is more than one place can hold of one lot."),
    "witness.required": _("A §4 medicine is given only with a witness."),
    "lot.batch_too_long": _("The batch number is too long."),
    "recall.reason_too_long": _("The reason for the recall is too long."),
    "order.medicine_name_mismatch": _(
        "The medicine's name does not match its ATC code in the formulary: ask the physician again."
    ),
    "medicine.dependence_forming_required": _(
        "This medicine is dependence-forming (§4) and must be marked so."
    ),
    "medicine.dependence_forming_otc": _(
        "A dependence-forming (§4) medicine is prescription-only."
    ),
    "unit.mismatch": _("The unit does not match the medicine."),
    "quantity.whole_units": _("This medicine is counted in whole units; give a whole number."),
    "waste.rest_mismatch": _("Only the rest of the opened unit may be wasted as part of one."),
    "dose.indivisible_form": _(
        "A capsule, a suppository or a sachet cannot be divided; give a whole number."
    ),
    "order.given_before_order": _(
        "The dose was given before the order was made; it cannot be recorded against it."
    ),
    "dose.tablet_halves": _("A tablet is divided only on its score; give whole or half tablets."),
    "count.incomplete": _("Some lots held here are not counted yet."),
    "visit.wrong_status": _("This cannot be recorded in the visit's present status."),
    "visit.transition_not_allowed": _("The visit cannot take this step in its present status."),
    "visit.outcome_unknown": _("Unknown outcome."),
    "referral.already_triaged": _("The referral has already been assessed."),
    "referral.already_ended": _("The referral has already ended."),
    "referral.withdraw_reason_unknown": _("Unknown reason."),
    "referral.withdraw_note_too_long": _("Write the note shorter."),
    "referral.retriage_reason_too_long": _("Write the reason shorter."),
    "order.received_note_too_long": _("Write the note shorter."),
    "order.withdrawal_phoned_by_too_long": _("Write the name shorter."),
    "episode.nurse_already_going": _(
        "A nurse is already going to the citizen on another referral; confirm to send a second nurse."
    ),
    "referral.skill_unknown": _("Unknown skills."),
    "referral.urgency_unknown": _("Unknown priority."),
    "referral.status_not_active": _(
        "Only an active referral is taken in; phone the coordinator to withdraw or change a referral."
    ),
    "referral.intent_not_order": _(
        "Only an ordered referral is taken in; a proposal or a plan asks nobody to visit."
    ),
    "referral.text_too_long": _("Write the text shorter."),
    "referral.occurrence_invalid": _(
        "The requested time for the visit cannot be read; give one date and time with its UTC"
        " offset."
    ),
    "referral.occurrence_offset_missing": _(
        "Give the requested time for the visit with its UTC offset (Z or +01:00)."
    ),
    "referral.occurrence_time_missing": _(
        "Give the requested time for the visit as a time of day, not only a date."
    ),
    "referral.occurrence_past": _("The requested time for the visit has passed."),
    "referral.occurrence_period_reversed": _(
        "The requested period for the visit ends before it starts."
    ),
    "referral.occurrence_too_far_ahead": _(
        "The requested time for the visit is more than 14 days ahead; the acute function plans"
        " visits at most 14 days ahead."
    ),
    "referral.planned_later": _(
        "The visit is planned for later; a nurse is sent from one hour before the requested time."
    ),
    "referral.occurrence_timing_unsupported": _(
        "Repeated visit times are not taken; give one time or period, and phone the"
        " coordinator to plan repeated visits."
    ),
    "visit.text_too_long": _("Write the text shorter."),
    "break_glass.basis_invalid": _("Choose the basis for the emergency access."),
    "break_glass.reason_too_long": _("Write the reason shorter."),
    "order.cancel_reason_too_long": _("Write the reason shorter."),
    "referral.decline_reason_too_long": _("Write the reason shorter."),
    "delegation.not_required": _("This is a predefined task (R7) and needs no delegation."),
    "clinical.delegation_required": _(
        "This test is not predefined (R7): a physician's delegation must be recorded first."
    ),
    "clinical.delegation_after_task": _(
        "This was taken or done before the physician delegated it (R7): a delegation "
        "covers only what is done after it was given."
    ),
    "order.not_awaiting_confirmation": _("The order is not awaiting confirmation."),
    "invalid": _("The period ends before it starts."),
    "record.subject_required": _("A required field is missing."),
    "record.reference_invalid": _("A reference is not valid."),
    "fhir.reference_unknown": _("A reference names something the platform does not hold."),
    "record.version_conflict": _("The entry was changed meanwhile; open it again."),
    "patient.version_conflict": _("The citizen's data were changed meanwhile; open them again."),
    "patient.text_too_long": _("A name, an address or a phone number is too long."),
    "referral.source_not_yours": _("Who referred is your organisation."),
    "record.code_too_long": _("A code or its system is too long."),
    "consent.actor_role_unsupported": _("A directive names the recipients of the record."),
    "consent.custodian_not_recorder": _("The directive is kept by the organisation recording it."),
    "audit.export_too_large": _("The search holds too many entries; narrow it."),
    "audit.param_invalid": _("A search field is not valid."),
    "audit.size_beyond_tree": _("The log does not hold that many entries yet."),
    "search.param_invalid": _("A search field is not valid."),
    "search.param_unknown": _("Unsupported search field."),
    "read.param_unknown": _("A read answers the whole resource and takes no such parameter."),
    "operation.param_unknown": _("The operation answers in full and takes no such parameter."),
    "search.param_repeated": _("A search field is given more than once."),
    "write.param_unknown": _("This request takes no such parameter in the address."),
    "write.param_repeated": _("A parameter is given more than once."),
    "write.field_unknown": _("This request takes no such field."),
    "write.not_boolean": _("A field takes true or false, written without quotes."),
    "write.not_text": _("A field takes text, written in quotes, not a number."),
    "search.cpr_not_searchable": _("A CPR number is searched only as Patient's identifier."),
    "search.modifier_unsupported": _("A search modifier is not supported."),
    "fhir.id_missing": _("The body of an update must carry the id in the URL."),
    "fhir.id_mismatch": _("The id in the body differs from the URL."),
    "search.chain_unsupported": _("Chained search is not supported."),
    "fhir.conditional_create_unsupported": _("Conditional create is not supported."),
    "fhir.if_none_match_unsupported": _("If-None-Match is not served on a create or an update."),
    "fhir.if_match_on_post": _("If-Match belongs to an update; a POST has no version to match."),
    "time.naive": _("Give the time with its offset from UTC, e.g. +01:00 or Z."),
    "search.patient_conflict": _("A search field is not valid."),
    "request.malformed": _("The request could not be read."),
    "request.too_large": _("The request is too large."),
    "request.uri_too_long": _("The address is too long."),
    "request.too_deep": _("The request is nested too deeply."),
    "request.not_an_object": _("The request body must be a JSON object."),
    "request.duplicate_key": _("A key appears more than once in one JSON object."),
    "request.number_not_finite": _("JSON has no NaN or Infinity."),
    "request.byte_order_mark": _("The request body must be UTF-8 without a byte order mark."),
    "request.not_utf8": _("The request body is not UTF-8."),
    "request.query_not_utf8": _("The address holds text that is not UTF-8."),
    "operation.parameter_unknown": _("The operation takes no such parameter."),
    "request.number_out_of_range": _("A number in the body is too large."),
    "request.nul_character": _("Text may not contain a NUL character."),
    "request.invalid_text": _("Text must be valid Unicode."),
    "request.control_character": _("Text may not contain control characters."),
    "request.bidi_control": _(
        "Text may not contain characters that change the direction of the text shown."
    ),
    "request.invisible_character": _("Text may not contain characters that are not shown."),
    "request.cpr_in_url": _("A CPR number never goes in a URL; send it in the request body."),
    "request.idempotency_key_invalid": _(
        "Idempotency-Key is 1 to 255 visible ASCII characters and holds no CPR number."
    ),
    "request.idempotency_key_reused": _(
        "This Idempotency-Key came with another request; a new request takes a new key."
    ),
    "request.already_received": _("This request was received before; nothing was done again."),
    "quantity.invalid": _("The quantity is not valid."),
    "fhir.invalid": _("Not a valid FHIR resource."),
    "fhir.modifier_unknown": _("The resource carries a modifier the platform does not understand."),
    "fhir.implicit_rules_unknown": _("The resource follows rules the platform does not know."),
    "fhir.code_outside_value_set": _("A code is not one FHIR allows for its element."),
    "fhir.coding_outside_value_set": _(
        "An element has no coding of the value set FHIR requires for it."
    ),
    "audit.archive_broken_log": _("The audit log does not verify, so nothing was archived."),
    "request.content_encoding_unsupported": _(
        "Send the request uncompressed (no Content-Encoding)."
    ),
}

BY_KIND: dict[str, Promise] = {
    "invalid": _("The entry cannot be used; check the fields."),
    "unauthenticated": _("Log in first."),
    "forbidden": _("Your role may not do this."),
    "not_found": _("Not available."),
    "conflict": _("This conflicts with the present state; reload the page."),
    "duplicate": _("This is already registered; find it instead of creating it again."),
    "precondition_failed": _("The data were changed meanwhile; reload the page."),
    "too_large": _("The request is too large."),
    "uri_too_long": _("The address is too long."),
    "unprocessable": _("The entry cannot be used."),
    "throttled": _("Too many attempts. Wait a while before trying again."),
    "unavailable": _("The service is not available right now. Try again shortly."),
    "not_supported": _("This is not supported here."),
}

_FIXED = frozenset(FIXED)


def _number(value: object) -> object:
    """A decimal as a person writes it in the active language: ``10``, not
    ``1E+1`` (what ``normalize()`` leaves), ``0,5`` on a Danish page."""
    if isinstance(value, Decimal) and value.is_finite():
        return number_format(value.normalize(), use_l10n=True)
    return value


def _fill(template: Promise, params: Mapping[str, object]) -> str | None:
    """``template`` in the active language, filled from ``params``. A value
    that is itself a lazy message (the part of a sentence that differs between
    raises of one code) is put in the same language and filled from the other
    values first. Anything shaped like a CPR number in a value — a parameter
    name or an element path a client typed — is masked: a page shows this
    sentence without the API's scrubbing of the error body."""
    try:
        # A lazy value is a word or a list in the reader's language (a field's
        # label, a list's choices) that another lazy value may be filled with.
        plain = {
            k: CPR_IN_TEXT.sub("[cpr]", str(v)) if isinstance(v, str | Promise) else _number(v)
            for k, v in params.items()
        }
        values = {
            k: str(v) % plain if isinstance(v, Promise) else plain[k] for k, v in params.items()
        }
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        return None


# What a page says where the API's sentence names a format or a parameter.
# A page's date field (<input type="date">) sends YYYY-MM-DD from its
# calendar: its reader is told which date is no real day, never "ISO" or the
# form a program writes; a period's fields are named by the labels the form
# shows (``render_page``'s ``field_labels``), never ``from`` and ``to``.
NOT_A_REAL_DATE = _("%(name)s is not a real date; choose the day in the calendar.")
MUST_BE_BEFORE = _("%(name)s must be before %(other)s.")
_PAGE_BY_EXPECTED: tuple[tuple[Promise, Promise], ...] = ((ISO_DATE, NOT_A_REAL_DATE),)
_PAGE_BY_MESSAGE: dict[str, Promise] = {
    "Dates as YYYY-MM-DD.": NOT_A_REAL_DATE,
    "from must be before to.": MUST_BE_BEFORE,
}


def page_message(error: PlatformError) -> str:
    """:func:`user_message` as a page shows it: the page's own sentence where
    the API's names a format the page's field does not show, filled from the
    same values (the field's label where the page gave one)."""
    expected = error.params.get("expected")
    template: Promise | None = next(
        (page for api, page in _PAGE_BY_EXPECTED if expected is api), None
    )
    template = template or _PAGE_BY_MESSAGE.get(error.message)
    if template is not None:
        filled = _fill(template, error.params)
        if filled is not None:
            return filled
    return user_message(error)


def user_message(error: PlatformError) -> str:
    """The error's message in the active language, for the person at the screen.
    A refusal of one entry of a Bundle names the entry first (``in_entry``)."""
    text, general = _in_active_language(error)
    entry = error.params.get("in_entry")
    if entry and not general and not text.startswith(f"{entry}:"):
        return f"{entry}: {text}"
    return text


def general_in_place_of_detail(error: PlatformError) -> bool:
    """True where :func:`user_message` gives the code's general sentence
    because the error's own, more precise sentence has no wording in the
    active language (a FHIR partner still gets that detail as diagnostics)."""
    return _in_active_language(error)[1]


def _in_active_language(error: PlatformError) -> tuple[str, bool]:
    template = TEMPLATES.get(error.code)
    if template is not None and error.params:
        filled = _fill(template, error.params)
        if filled is not None:
            return filled, False
    if error.message in _FIXED:
        return gettext(error.message), False
    fallback = BY_CODE.get(error.code)
    if fallback is None or (get_language() or "").startswith("en"):
        # Messages built with gettext where raised are already in the active language.
        return error.message, False
    general = str(fallback)
    return general, general != error.message


def kind_message(kind: str) -> str:
    """The general sentence for a kind of refusal (an error from outside the platform)."""
    return str(BY_KIND.get(kind) or BY_KIND["invalid"])
