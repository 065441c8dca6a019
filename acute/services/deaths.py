"""What a citizen's registered death (*dødsfald*) means for the acute
function, whichever door reports it: the hospital's HospitalNotification
(R12, :func:`citizen_death_register`) or her Patient updated over FHIR
(``consent``, which tells us through :data:`core.deaths.citizen_died`).
Both end in :func:`citizen_death_follow`, so a death closes the same things
whoever reports it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from acute.models import Episode, Outcome, Visit
from acute.services.admissions import death_withdrawn_warn, referrals_close_on_death
from acute.services.episodes import episode_complete
from acute.services.visits import visit_withdraw
from core.actors import Actor
from core.deaths import DECEASED_MESSAGE
from core.models import Citizen

DEATH_NOTE = DECEASED_MESSAGE
# Visits not yet at the door: a nurse on site finishes hers, documenting up
# to the time of death, and completes it.
WITHDRAWN_ON_DEATH = (Visit.Status.ASSIGNED, Visit.Status.ACCEPTED, Visit.Status.EN_ROUTE)


def citizen_death_follow(
    *, citizen_id: int, died_at: dt.datetime, reported: dict[str, Any], actor: Actor
) -> dict[str, list[int]]:
    """The citizen is registered dead: the visits not yet at her door are
    withdrawn (no nurse drives out), and her referrals no nurse has reached
    are closed with a warning on the board. Runs inside the transaction that
    registers the death; ``reported`` says by what (kept on the warning)."""
    with transaction.atomic(savepoint=False):
        withdrawn = []
        for visit in Visit.objects.filter(
            citizen_id=citizen_id, status__in=WITHDRAWN_ON_DEATH
        ).order_by("pk"):
            visit_withdraw(visit=visit, note=DEATH_NOTE, actor=actor)
            withdrawn.append(visit.pk)
        closed = referrals_close_on_death(
            citizen_id=citizen_id, died_at=died_at, reported=reported, actor=actor
        )
        ended = _episode_end_on_death(citizen_id=citizen_id, actor=actor)
    return {"visits_withdrawn": withdrawn, "referrals_closed": closed, "episodes_ended": ended}


def _episode_end_on_death(*, citizen_id: int, actor: Actor) -> list[int]:
    """Her open episode ends with the outcome died, as any episode ends
    (R11): its referrals close, the referrer is told the outcome and her own
    home nursing gets the hand-back saying so (nobody is asked to take over
    her care; a partner nobody speaks for is raised on the board). While a
    nurse is at her door the episode stays open: she completes her visit,
    and only the outcome died is taken from her."""
    episode = Episode.objects.filter(citizen_id=citizen_id, status=Episode.Status.OPEN).first()
    if episode is None or episode.visits.filter(status=Visit.Status.ON_SITE).exists():
        return []
    episode_complete(episode=episode, outcome=Outcome.DIED, actor=actor)
    return [episode.pk]


def citizen_death_register(
    *, citizen_id: int, died_at: dt.datetime, admission: str, actor: Actor
) -> dict[str, list[int]]:
    """The hospital reports the citizen dead (HospitalNotification): she is
    registered deceased, unless she already is, and the death is followed
    as every door's is."""
    with transaction.atomic(savepoint=False):
        citizen = Citizen.objects.select_for_update().get(pk=citizen_id)
        if citizen.deceased_at is None:
            citizen.deceased_at = died_at
            citizen.save(update_fields=["deceased_at"])
        return citizen_death_follow(
            citizen_id=citizen_id,
            died_at=citizen.deceased_at,
            reported={"admission": admission},
            actor=actor,
        )


def on_citizen_death_withdrawn(
    sender: object, *, citizen_id: int, withdrawn: dt.datetime, actor: Actor, **kwargs: Any
) -> None:
    """Receiver of :data:`core.deaths.citizen_death_withdrawn` (the Patient's
    door): warned as the hospital's correction warns."""
    death_withdrawn_warn(
        citizen_id=citizen_id,
        withdrawn=withdrawn,
        reported={"source": "Patient"},
        actor=Actor.system("acute.death_follow", on_behalf_of=actor),
    )


def on_citizen_died(
    sender: object, *, citizen_id: int, died_at: dt.datetime, actor: Actor, **kwargs: Any
) -> None:
    """Receiver of :data:`core.deaths.citizen_died` (the Patient's door)."""
    citizen_death_follow(
        citizen_id=citizen_id,
        died_at=died_at,
        reported={"source": "Patient"},
        actor=Actor.system("acute.death_follow", on_behalf_of=actor),
    )
