"""Demo data of the acute function: shifts around now for nurse1..nurse20 (day,
evening and night, yesterday to tomorrow), skills and positions, and a few open
referrals. Loading twice changes nothing."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from acute import selectors, services
from acute.deadlines import LOCAL
from acute.models import NurseShift, Referral, Skill, Visit
from core.actors import Actor
from core.models import Citizen, Membership, Organisation, Role, User

BASE = ("Akutbasen, Gentofte", 55.7392, 12.5436)
# Nurse numbers per shift kind: eight on days, six on evenings, six on nights.
ROTA = {
    NurseShift.Kind.DAY: range(1, 9),
    NurseShift.Kind.EVENING: range(9, 15),
    NurseShift.Kind.NIGHT: range(15, 21),
}
HOURS = {
    NurseShift.Kind.DAY: (7, 15),
    NurseShift.Kind.EVENING: (15, 23),
    NurseShift.Kind.NIGHT: (23, 7),
}

REFERRALS = [
    # source, urgency, reason, clinical picture, actions, skills, accept
    (
        "gp",
        "within_2_hours",
        "Feber og konfusion",
        "Temp 39,2, nyopstået forvirring, drikker lidt",
        "Vurdering, CRP, væsketal, urinstix",
        [],
        True,
    ),
    (
        "helpline_1813",
        "within_2_hours",
        "Faldet, kan ikke rejse sig",
        "Ingen synlige frakturer",
        "Vurdering og mobilisering",
        [],
        True,
    ),
    (
        "hospital",
        "within_shift",
        "Udskrevet med pneumoni",
        "Stabil, behov for iv-antibiotika",
        "IV antibiotika",
        ["iv_treatment"],
        True,
    ),
    (
        "home_nursing",
        "within_shift",
        "Urinretention",
        "Kateter stoppet, smerter",
        "Kateterskift",
        ["catheter"],
        False,
    ),
    (
        "gp",
        "next_day",
        "Aftagende funktionsniveau",
        "Træthed gennem en uge",
        "Blodprøver, vurdering",
        ["blood_samples"],
        False,
    ),
]


def _shift_window(day: dt.date, kind: str) -> tuple[dt.datetime, dt.datetime]:
    start_h, end_h = HOURS[NurseShift.Kind(kind)]
    start = dt.datetime.combine(day, dt.time(start_h), tzinfo=LOCAL)
    end_day = day + dt.timedelta(days=1) if end_h < start_h else day
    end = dt.datetime.combine(end_day, dt.time(end_h), tzinfo=LOCAL)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _shifts(acute: Organisation, rng: random.Random) -> int:
    created = 0
    today = timezone.localdate()
    nurses = {u.username: u for u in User.objects.filter(username__startswith="nurse")}
    for offset in (-1, 0, 1):
        day = today + dt.timedelta(days=offset)
        for kind, numbers in ROTA.items():
            starts_at, ends_at = _shift_window(day, kind)
            for n in numbers:
                nurse = nurses.get(f"nurse{n}")
                if (
                    nurse is None
                    or NurseShift.objects.filter(nurse=nurse, starts_at=starts_at).exists()
                ):
                    continue
                skills = sorted(
                    {Skill.BLOOD_SAMPLES, *rng.sample(list(Skill.values), k=rng.randint(1, 4))}
                )
                shift = services.shift_create(
                    nurse=nurse,
                    acute_function=acute,
                    kind=kind,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    skills=skills,
                    base_name=BASE[0],
                    base_latitude=BASE[1],
                    base_longitude=BASE[2],
                    actor=Actor.system("demo"),
                )
                # Spread over the area, as if each tablet had reported where she is.
                shift.latitude = BASE[1] + rng.uniform(-0.04, 0.04)
                shift.longitude = BASE[2] + rng.uniform(-0.07, 0.07)
                shift.save(update_fields=["latitude", "longitude"])
                created += 1
    return created


def _referrals(orgs: dict[str, Organisation]) -> int:
    coordinator = (
        Membership.objects.select_related("user", "organisation")
        .filter(user__username="coordinator", role=Role.COORDINATOR)
        .first()
    )
    if coordinator is None:
        return 0
    actor = Actor.for_membership(coordinator)
    sources = {
        "gp": "gp-157-1",
        "helpline_1813": "1813",
        "hospital": "hospital",
        "home_nursing": "home-157",
    }
    citizens = list(Citizen.objects.order_by("pk")[: len(REFERRALS) * 3 : 3])
    created = 0
    for index, (source, urgency, reason, picture, actions, skills, accept) in enumerate(REFERRALS):
        if index >= len(citizens):
            break
        organisation = orgs[sources[source]]
        external_id = f"demo-{index + 1}"
        if Referral.objects.filter(
            source_organisation=organisation, external_id=external_id
        ).exists():
            continue
        referral = services.referral_create(
            citizen=citizens[index],
            source=source,
            channel=Referral.Channel.PHONE if source == "gp" else Referral.Channel.ELECTRONIC,
            referrer_name=f"Henviser fra {organisation.name}",
            referrer_phone=organisation.phone or "+45 39 00 00 00",
            reason=reason,
            clinical_picture=picture,
            requested_actions=actions,
            urgency=urgency,
            responsible_physician_name="Læge Peter Lægesen",
            responsible_physician_phone="+45 39 00 00 01",
            source_organisation=organisation,
            external_id=external_id,
            required_skills=skills,
            actor=actor,
        )
        created += 1
        if accept:
            services.referral_accept(referral=referral, actor=actor)
    # The first accepted referral has a nurse on the way, so the tablet has something to show.
    first = Referral.objects.filter(external_id="demo-1", status=Referral.Status.ACCEPTED).first()
    if first is not None and not Visit.objects.filter(referral=first).exists():
        ranked = selectors.dispatch_rank(referral=first)
        if ranked:
            services.visit_assign(
                referral=first, shift=NurseShift.objects.get(pk=ranked[0].shift_id), actor=actor
            )
    return created


def _nurse_number(username: str) -> int:
    number = username.removeprefix("nurse")
    return int(number) if number.isdigit() else 0


def _who_is_on(say: Callable[[str], None]) -> None:
    """Says which demo nurses are on shift now and who has a visit to answer: the
    rota depends on the hour, so a newcomer signs in as one of them."""
    now = timezone.now()
    on_shift = sorted(
        set(
            NurseShift.objects.filter(starts_at__lte=now, ends_at__gt=now).values_list(
                "nurse__username", flat=True
            )
        ),
        key=_nurse_number,
    )
    if on_shift:
        say(f"acute: on shift now: {', '.join(on_shift)}")
    waiting = (
        Visit.objects.filter(status=Visit.Status.ASSIGNED, respond_by__gt=now)
        .select_related("nurse")
        .order_by("respond_by")
    )
    for visit in waiting:
        local = timezone.localtime(visit.respond_by, LOCAL).strftime("%H:%M")
        say(
            f"acute: {visit.nurse.username} has a visit to accept by {local} Danish time"
            " (else it is withdrawn and the coordinator sends another nurse)"
        )


@transaction.atomic
def load(say: Callable[[str], None], orgs: dict[str, Organisation]) -> None:
    rng = random.Random(173)
    shifts = _shifts(orgs["acute"], rng)
    referrals = _referrals(orgs)
    say(f"acute: {shifts} new shifts, {referrals} new referrals")
    _who_is_on(say)
