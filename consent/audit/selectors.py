"""Reading the log: the auditor's search (the citizen's view, R5, is
:mod:`consent.audit.disclosures`).

Only auditors reach :func:`audit_search` (the API declares it), and each
reads the part of the log her organisation answers for
(:mod:`consent.audit.scope`, carried by the query); the caller records the
search itself in the log with purpose ``audit`` — or asks
:func:`audit_page_shown`, which records the page it returns.

One module, longer than most: it is the auditor's search from query string
to recorded page (parse, search, page, flags and reviews, export, the names
shown beside the entries, and the one entry opened from it), each step
taking the filters the one before it checked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy

from consent.audit.errors import entry_id_possible, entry_not_found
from consent.audit.models import (
    Action,
    AuditEntry,
    AuditFlag,
    EntryReview,
    Flag,
    Outcome,
    Purpose,
)
from consent.audit.scope import NOTHING, AuditorScope, auditor_scope
from consent.audit.services import (
    audit_record_auditor_view,
    audit_record_unknown_entry,
    auditor_attempt_refused,
)
from core.actors import Actor
from core.catchment import MunicipalityNotParticipating
from core.errors import InvalidInput, NotFoundOrNotAllowed
from core.labels import TASKS
from core.messages import INTERNAL_ID, ISO_DATE, ONE_OF, ONE_OR_ZERO
from core.models import Citizen, Organisation, Role, User
from core.times import (
    api_instant,
    day_start,
    local_wall_time,
    read_day,
    read_moment,
    typed_moment,
    with_offset,
)
from core.validation import is_digits

LIST_FIELDS = [
    f.name for f in AuditEntry._meta.concrete_fields if f.name not in ("digest", "chain_hash")
]


class ActorKind(models.TextChoices):
    """Who made an entry (``actor_kind``), one kind per entry: a person in
    her own request; the platform's background work (a scheduled job or a
    command, on its own or on a person's behalf); or work for or from a
    partner (a message received or sent, whatever task carried it)."""

    PERSON = "person", gettext_lazy("A person")
    TASK = "task", gettext_lazy("Background work")
    PARTNER = "partner", gettext_lazy("A partner's message")


_ACTOR_KIND = {
    ActorKind.PERSON: Q(task="", partner_organisation_id__isnull=True),
    ActorKind.TASK: ~Q(task="") & Q(partner_organisation_id__isnull=True),
    ActorKind.PARTNER: Q(partner_organisation_id__isnull=False),
}


@dataclass(frozen=True)
class AuditQuery:
    """Validated search filters. Citizens are given by internal id, never CPR."""

    citizen_id: int | None = None
    user_id: int | None = None
    organisation_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    purposes: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    # The role the actor acted in, the task that did the work, and who made it.
    roles: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    actor_kinds: tuple[str, ...] = ()
    outcome: str | None = None
    flag: str | None = None
    unreviewed: bool = False
    # The entry the search is pinned to: only it and what is older in the
    # search's order (newest first) are searched, so the pages that follow a
    # first one stay put while new entries arrive — the auditor's own reading
    # of each page among them. The paging links carry it.
    as_of: int | None = None
    as_of_at: dt.datetime | None = None
    # Ranges [start, end) left out (FHIR's ``date=ne…``).
    outside: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    # The part of the log the auditor reads (consent.audit.scope); none by default.
    scope: AuditorScope = NOTHING

    def as_params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for key in ("citizen_id", "user_id", "organisation_id", "outcome", "flag"):
            value = getattr(self, key)
            if value is not None:
                out[key.removesuffix("_id")] = str(value)
        if self.since:
            out["from"] = api_instant(self.since)
        if self.until:
            out["to"] = api_instant(self.until)
        if self.outside:
            out["outside"] = ",".join(f"{api_instant(a)}/{api_instant(b)}" for a, b in self.outside)
        if self.purposes:
            out["purpose"] = ",".join(self.purposes)
        if self.actions:
            out["action"] = ",".join(self.actions)
        for key, values in (
            ("role", self.roles),
            ("task", self.tasks),
            ("actor_kind", self.actor_kinds),
        ):
            if values:
                out[key] = ",".join(values)
        if self.unreviewed:
            out["unreviewed"] = "1"
        if self.as_of is not None:
            out["as_of"] = str(self.as_of)
        return out


def _whole(params: Mapping[str, str], name: str) -> int | None:
    """An internal id as it is sent: digits only. A space around it is the
    auditor's page's to trim (a form field), never a query's on ``/api/``
    or the export's, where " 5" is no id (core.validation, number text)."""
    raw = params.get(name) or ""
    if not raw:
        return None
    if not is_digits(raw) or len(raw) > 18:
        raise InvalidInput(
            "audit.param_invalid",
            f"{name} must be an internal id (digits).",
            field=name,
            params={"name": name, "expected": INTERNAL_ID},
        )
    return int(raw)


def parse_instant(raw: str, name: str, *, end: bool = False, local: bool = False) -> dt.datetime:
    """An ISO date or date-time; a bare date means that whole day (Copenhagen time).

    A date-time without its offset is Copenhagen wall-clock time where
    ``local`` (the auditor's page, the console), refused where the clocks skip
    or repeat it; on ``/api/`` and ``/fhir/`` it is refused (``time.naive``),
    the rule of :mod:`core.times`.

    Only ISO 8601's extended form is read (:mod:`core.times`); the page and
    the console, where a person types, also take a space for the T and
    "10.30" for 10:30. Anything else is refused, never read as another time."""
    invalid = InvalidInput(
        "audit.param_invalid",
        f"{name} must be an ISO date or date-time.",
        field=name,
        params={"name": name, "expected": ISO_DATE},
    )
    raw = raw.strip()
    day = read_day(raw)
    if day is not None:
        # The day's first moment in Copenhagen, as every door reads a date
        # alone, refused where the store could not keep it (the first day of
        # year 1 begins in UTC's year 0); ``to`` is the day's end, the next
        # day's first moment, and the last day of year 9999 ends at its last
        # instant.
        if end and day == dt.date.max:
            return timezone.make_aware(dt.datetime.max)
        return day_start(day + dt.timedelta(days=1) if end else day, field=name)
    if local:
        typed = typed_moment(raw)
        if typed is None:
            raise invalid
        return local_wall_time(typed, field=name)
    stated = read_moment(raw)
    if stated is None:
        raise invalid
    return with_offset(stated, field=name)


def parse_time_range(
    since: str | None, until: str | None, *, local: bool = False
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``from`` and ``to`` of a search or a verification (a date ``to``
    includes its day). One that ends before it starts is refused, on every
    door: "nothing found" or "nothing to verify" would read as a clean log."""
    start = parse_instant(since, "from", local=local) if since else None
    end = parse_instant(until, "to", end=True, local=local) if until else None
    if start and end and start >= end:
        raise InvalidInput(
            "audit.param_invalid",
            "from must be before to.",
            field="from",
            params={"name": "from", "other": "to"},
        )
    return start, end


def _choices(params: Mapping[str, str], name: str, allowed: list[str]) -> tuple[str, ...]:
    raw = (params.get(name) or "").strip()
    if not raw:
        return ()
    values = tuple(dict.fromkeys(v.strip() for v in raw.split(",")))
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise InvalidInput(
            "audit.param_invalid",
            f"{name} must be among: {', '.join(allowed)}.",
            field=name,
            params={"name": name, "allowed": ", ".join(allowed), "expected": ONE_OF},
        )
    return values


def _yes_no(params: Mapping[str, str], name: str) -> bool:
    """``1``/``true`` or ``0``/``false`` (or left out); anything else is refused
    rather than read as "no", which widened the search without a word."""
    raw = (params.get(name) or "").strip()
    if raw not in ("", "0", "1", "false", "true"):
        raise InvalidInput(
            "audit.param_invalid",
            f"{name} must be 1 or 0.",
            field=name,
            params={"name": name, "expected": ONE_OR_ZERO},
        )
    return raw in ("1", "true")


# What the auditor's search takes; the API adds its paging (and the export its format).
QUERY_PARAMS = frozenset(
    {"citizen", "user", "organisation", "from", "to", "purpose", "action", "outcome", "flag"}
    | {"role", "task", "actor_kind", "unreviewed", "as_of"}
)


def _as_of(params: Mapping[str, str], scope: AuditorScope) -> tuple[int | None, dt.datetime | None]:
    """The entry a search is pinned to and when it was recorded; an id that
    names no entry is refused, never read as no pin (or as an empty log),
    and so is one outside the auditor's scope: it is no entry to her."""
    entry_id = _whole(params, "as_of")
    if entry_id is None:
        return None, None
    at = (
        scope.entries(AuditEntry.objects.filter(id=entry_id))
        .values_list("recorded_at", flat=True)
        .first()
    )
    if at is None:
        raise InvalidInput(
            "audit.param_invalid",
            "as_of must be the id of an entry in the log.",
            field="as_of",
            params={"name": "as_of", "expected": INTERNAL_ID},
        )
    return entry_id, at


def audit_query_parse(
    params: Mapping[str, str], *, scope: AuditorScope, local: bool = False
) -> AuditQuery:
    """Validate the auditor's query string into filters (4xx with a code on bad
    input), searching the part of the log ``scope`` gives her; ``local``: the
    page's, whose times are Copenhagen wall-clock time."""
    if "cpr" in params or "identifier" in params:
        raise InvalidInput(
            "audit.cpr_not_accepted",
            "Search by the citizen's internal id; CPR numbers are not accepted here.",
        )
    since, until = parse_time_range(params.get("from"), params.get("to"), local=local)
    outcome = _choices(params, "outcome", list(Outcome.values))
    flag = _choices(params, "flag", list(Flag.values))
    if len(outcome) > 1 or len(flag) > 1:
        raise InvalidInput("audit.param_invalid", "outcome and flag take one value each.")
    as_of, as_of_at = _as_of(params, scope)
    return AuditQuery(
        citizen_id=_whole(params, "citizen"),
        user_id=_whole(params, "user"),
        organisation_id=_whole(params, "organisation"),
        since=since,
        until=until,
        purposes=_choices(params, "purpose", list(Purpose.values)),
        actions=_choices(params, "action", list(Action.values)),
        roles=_choices(params, "role", list(Role.values)),
        # The tasks the platform names (core.labels.TASKS, which every task
        # that records is in): a misspelt one is refused, never an empty log.
        tasks=_choices(params, "task", sorted(TASKS)),
        actor_kinds=_choices(params, "actor_kind", list(ActorKind.values)),
        outcome=outcome[0] if outcome else None,
        flag=flag[0] if flag else None,
        unreviewed=_yes_no(params, "unreviewed"),
        as_of=as_of,
        as_of_at=as_of_at,
        scope=scope,
    )


def audit_scope_of(*, actor: Actor, action: str) -> AuditorScope:
    """The auditor's scope (:func:`consent.audit.scope.auditor_scope`) for a
    door that shows entries or citizens. Staff of a municipality that has
    left the acute function are refused there as at the gate: recorded as
    denied (R9), then ``403 access.municipality_not_participating``."""
    scope = auditor_scope(actor)
    if scope.withdrawn:
        auditor_attempt_refused(
            actor=actor, action=action, reason_code="municipality_not_participating"
        )
        raise MunicipalityNotParticipating()
    return scope


def audit_search(*, query: AuditQuery) -> QuerySet[AuditEntry]:
    """Newest first, within the query's scope. Uses the
    (citizen|user|organisation, recorded_at) indexes."""
    entries = query.scope.entries(AuditEntry.objects.only(*LIST_FIELDS))
    if query.citizen_id is not None:
        entries = entries.filter(citizen_id=query.citizen_id)
    if query.user_id is not None:
        entries = entries.filter(actor_user_id=query.user_id)
    if query.organisation_id is not None:
        entries = entries.filter(actor_organisation_id=query.organisation_id)
    if query.since is not None:
        entries = entries.filter(recorded_at__gte=query.since)
    if query.until is not None:
        entries = entries.filter(recorded_at__lt=query.until)
    for start, end in query.outside:
        entries = entries.exclude(recorded_at__gte=start, recorded_at__lt=end)
    if query.as_of is not None and query.as_of_at is not None:
        # A range on the time (its indexes, its months) and, at that very
        # instant, no entry after the pin.
        entries = entries.filter(recorded_at__lte=query.as_of_at).exclude(
            recorded_at=query.as_of_at, id__gt=query.as_of
        )
    if query.purposes:
        entries = entries.filter(purpose__in=query.purposes)
    if query.actions:
        entries = entries.filter(action__in=query.actions)
    if query.roles:
        entries = entries.filter(actor_role__in=query.roles)
    if query.tasks:
        entries = entries.filter(task__in=query.tasks)
    if query.actor_kinds:
        kinds = Q()
        for kind in query.actor_kinds:
            kinds |= _ACTOR_KIND[ActorKind(kind)]
        entries = entries.filter(kinds)
    if query.outcome:
        entries = entries.filter(outcome=query.outcome)
    # Flags are few beside a large log: start from them (the log's key leads with id).
    if query.flag:
        entries = entries.filter(
            id__in=AuditFlag.objects.filter(kind=query.flag).values("entry_id")
        )
    if query.unreviewed:
        entries = entries.filter(
            id__in=AuditFlag.objects.exclude(
                Exists(EntryReview.objects.filter(entry_id=OuterRef("entry_id")))
            ).values("entry_id")
        )
    return entries.order_by("-recorded_at", "-id")


@contextmanager
def refused_input_recorded(
    *, actor: Actor, action: str, params: Mapping[str, str], asked: QueryDict | None = None
) -> Iterator[None]:
    """An auditor's search or export refused for what it asks (a parameter
    unknown, given twice or malformed) is an attempt all the same (R9), as a
    refused ``/fhir/AuditEvent`` search is: recorded as denied, purpose
    ``audit``, reason the refusal's code, on the citizen the search names by
    an internal id the platform knows — the field refused, never what was
    typed (it may be a CPR number). A citizen given twice in ``asked`` (the
    query string) names nobody: neither is the one the search was about."""
    try:
        yield
    except InvalidInput as refused:
        once = asked is None or len(asked.getlist("citizen")) <= 1
        raw = str(params.get("citizen") or "") if once else ""
        named = int(raw) if is_digits(raw) and len(raw) <= 18 else None
        if named is not None and not Citizen.objects.filter(pk=named).exists():
            named = None
        auditor_attempt_refused(
            actor=actor,
            action=action,
            reason_code=refused.code[:64],
            citizen_id=named,
            detail={"field": refused.field} if refused.field else None,
        )
        raise


def audit_page(*, query: AuditQuery, offset: int, count: int) -> tuple[list[AuditEntry], bool]:
    """One page and whether another follows (no full count over millions of rows)."""
    rows = list(audit_search(query=query)[offset : offset + count + 1])
    return rows[:count], len(rows) > count


def paging_pinned(*, query: AuditQuery, entries: list[AuditEntry], offset: int) -> AuditQuery:
    """The search its paging links carry: pinned to the newest entry it found
    (``as_of``), so a next or previous page is counted from the same place
    however many entries are recorded meanwhile. Pinned already, it stays."""
    if query.as_of is not None:
        return query
    newest = (
        entries[0]
        if offset == 0 and entries
        else audit_search(query=query).only("id", "recorded_at").first()
    )
    if newest is None:
        return query
    return dataclasses.replace(query, as_of=newest.id, as_of_at=newest.recorded_at)


def flags_and_reviews(entry_ids: list[int]) -> tuple[dict[int, list[str]], dict[int, EntryReview]]:
    """The flags and reviews beside these entries, in two queries."""
    flags: dict[int, list[str]] = {}
    for entry_id, kind in AuditFlag.objects.filter(entry_id__in=entry_ids).values_list(
        "entry_id", "kind"
    ):
        flags.setdefault(entry_id, []).append(kind)
    reviews = {
        r.entry_id: r
        for r in EntryReview.objects.filter(entry_id__in=entry_ids).select_related("reviewed_by")
    }
    return flags, reviews


@dataclass
class AuditPage:
    """A page of the auditor's search as it is shown: the entries, whether
    another page follows, and each entry's flags and review."""

    entries: list[AuditEntry]
    more: bool
    flags: dict[int, list[str]]
    reviews: dict[int, EntryReview]


def _record_auditor_search(
    *, actor: Actor, action: str, query: AuditQuery, entries: list[AuditEntry], **more: str
) -> None:
    """Record an auditor's search or export (purpose ``audit``, one entry per
    citizen in the result). A search about one citizen is about that citizen
    even when it finds nothing, on every door (API, FHIR, pages, export)."""
    asked: list[int | None] = (
        [query.citizen_id] if query.citizen_id is not None and not entries else []
    )
    audit_record_auditor_view(
        actor=actor,
        action=action,
        citizen_ids=[e.citizen_id for e in entries] + asked,
        query={**query.as_params(), **more},
    )


def audit_page_recorded(
    *, actor: Actor, query: AuditQuery, offset: int, count: int
) -> tuple[list[AuditEntry], bool]:
    """A page of the auditor's search and whether another follows, recorded in
    the log before it is returned: a failure to record refuses the answer."""
    entries, more = audit_page(query=query, offset=offset, count=count)
    _record_auditor_search(actor=actor, action=Action.SEARCH, query=query, entries=entries)
    return entries, more


def audit_page_shown(*, actor: Actor, query: AuditQuery, offset: int, count: int) -> AuditPage:
    """A page of the auditor's search with its flags and reviews, recorded in
    the log (purpose ``audit``, one entry per citizen) before it is shown."""
    entries, more = audit_page_recorded(actor=actor, query=query, offset=offset, count=count)
    flags, reviews = flags_and_reviews([e.id for e in entries])
    return AuditPage(entries, more, flags, reviews)


def audit_export(
    *, actor: Actor, query: AuditQuery, as_format: str
) -> tuple[list[AuditEntry], dict[int, list[str]]]:
    """The entries an auditor exports, with their flags, recorded in the log
    (purpose ``audit``) before they leave. A search too large to export is
    refused, not cut short."""
    limit = settings.AUDIT_EXPORT_MAX_ROWS
    rows = list(audit_search(query=query)[: limit + 1])
    if len(rows) > limit:
        # A refused export is an attempt all the same (R9): on the citizen it
        # asked about, if any — nothing left, so no other citizen's log.
        auditor_attempt_refused(
            actor=actor,
            action=Action.EXPORT,
            reason_code="audit.export_too_large",
            citizen_id=query.citizen_id,
            detail={"query": {**query.as_params(), "as": as_format}, "limit": limit},
        )
        raise InvalidInput(
            "audit.export_too_large",
            f"The search holds more than {limit} entries; narrow it (time range, citizen, user).",
            params={"limit": limit},
        )
    flags, _ = flags_and_reviews([e.id for e in rows])
    _record_auditor_search(
        actor=actor, action=Action.EXPORT, query=query, entries=rows, **{"as": as_format}
    )
    return rows, flags


CITIZENS_FOUND_MAX = 20


def audit_citizens_find(
    *, actor: Actor, cpr: str = "", name: str = "", wholly: bool = False
) -> list[Citizen]:
    """The citizens an auditor looks up by CPR number (from a form body, never
    a URL) or by name, recorded in the log (purpose ``audit``) before they are
    shown. Neither the CPR number nor the name typed goes into the entry: only
    which of the two was searched by.

    Only citizens in her scope are found (``wholly``: those whose whole log
    is hers, for the insight report); another is answered, and recorded, as
    a citizen the platform does not know."""
    cpr, name = audit_citizen_terms(cpr=cpr, name=name)
    scope = audit_scope_of(actor=actor, action=Action.SEARCH)
    known = scope.citizens_wholly if wholly else scope.citizens
    if cpr:
        # A replacement CPR typed without its issuer may name two people: then nobody.
        found = list(
            known(Citizen.objects.filter(Citizen.typed(cpr))).select_related("municipality")[:2]
        )
        found = found if len(found) == 1 else []
        by = "cpr"
    else:
        citizens = known(Citizen.objects.select_related("municipality"))
        for part in name.split()[:4]:
            citizens = citizens.filter(
                Q(given_name__icontains=part) | Q(family_name__icontains=part)
            )
        found = list(citizens.order_by("family_name", "given_name", "pk")[: CITIZENS_FOUND_MAX + 1])
        by = "name"
    audit_record_auditor_view(
        actor=actor,
        action=Action.SEARCH,
        citizen_ids=[c.pk for c in found[:CITIZENS_FOUND_MAX]],
        query={"citizen_by": by},
    )
    return found


def audit_citizen_terms(*, cpr: str = "", name: str = "") -> tuple[str, str]:
    """The CPR number (or replacement CPR) as typed, checked, or the name
    with its spaces tidied: refused when neither is usable."""
    cpr, name = cpr.strip(), " ".join(name.split())
    if cpr:
        Citizen.typed(cpr)  # refuses what is neither
        return cpr, ""
    if len(name) < 2:
        raise InvalidInput(
            "audit.citizen_search_empty",
            "Type the citizen's CPR number or at least two letters of the name.",
            field="name",
        )
    return "", name


@dataclass(frozen=True)
class Names:
    """Who the entries of a page are about and by, as a person reads them."""

    citizens: dict[int, str]
    users: dict[int, str]

    def citizen(self, citizen_id: int | None) -> str:
        return self.citizens.get(citizen_id, "") if citizen_id is not None else ""


def audit_names(
    entries: list[AuditEntry], *, scope: AuditorScope, citizen_id: int | None = None
) -> Names:
    """The names of the citizens and staff on a page of entries (and of the
    citizen searched for), in two queries. Call it for entries already recorded
    as read. A citizen is named only where the auditor may find her
    (:meth:`AuditorScope.citizens`): an entry of her organisation's own
    search names a citizen by id, never by name. A staff member's name is
    read now; the entry keeps the username it had."""
    citizen_ids = {e.citizen_id for e in entries if e.citizen_id is not None}
    if citizen_id is not None:
        citizen_ids.add(citizen_id)
    user_ids = {e.actor_user_id for e in entries if e.actor_user_id is not None}
    citizens = {
        pk: f"{given} {family}"
        for pk, given, family in scope.citizens(
            Citizen.objects.filter(pk__in=citizen_ids)
        ).values_list("pk", "given_name", "family_name")
    }
    users = {user.pk: user.display_name for user in User.objects.filter(pk__in=user_ids)}
    return Names(citizens=citizens, users=users)


def audit_user_id(username: str) -> int | None:
    """The id of the member of staff an auditor names by username; a name no one
    has is refused, not ignored."""
    username = username.strip()
    if not username:
        return None
    found = User.objects.filter(username__iexact=username).values_list("pk", flat=True).first()
    if found is None:
        raise InvalidInput(
            "audit.user_unknown", "No member of staff has that username.", field="username"
        )
    return found


def audit_username(user_id: str) -> str:
    """The username of the member of staff a search names by id."""
    if not is_digits(user_id):
        return ""
    return User.objects.filter(pk=int(user_id)).values_list("username", flat=True).first() or ""


def audit_organisations() -> list[Organisation]:
    """The organisations an auditor can narrow a search to."""
    return list(Organisation.objects.order_by("name").only("pk", "name"))


def audit_next_flagged(*, scope: AuditorScope, after_entry_id: int | None = None) -> int | None:
    """The newest flagged entry in the auditor's scope still waiting for
    review (other than the one just reviewed): where "next flagged" leads."""
    waiting = AuditFlag.objects.exclude(
        Exists(EntryReview.objects.filter(entry_id=OuterRef("entry_id")))
    )
    if not scope.whole_log:
        waiting = waiting.filter(entry_id__in=scope.entries(AuditEntry.objects.all()).values("id"))
    if after_entry_id is not None:
        waiting = waiting.exclude(entry_id=after_entry_id)
    return (
        waiting.order_by("-entry_recorded_at", "-entry_id")
        .values_list("entry_id", flat=True)
        .first()
    )


def audit_entry_get(*, entry_id: int, scope: AuditorScope) -> AuditEntry:
    """The entry ``entry_id`` names in the auditor's scope; one outside it is
    refused as an id that names no entry (``audit.entry_not_found``)."""
    found = entry_id_possible(entry_id)
    entries = scope.entries(AuditEntry.objects.only(*LIST_FIELDS).filter(id=entry_id))
    entry = entries.first() if found else None
    if entry is None:
        raise entry_not_found()
    return entry


@dataclass(frozen=True)
class EntryRead:
    entry: AuditEntry
    flags: list[str]
    review: EntryReview | None
    # The scope it was read in: the names beside it and the next flagged entry.
    scope: AuditorScope


def audit_entry_read(*, actor: Actor, entry_id: int) -> EntryRead:
    """An auditor reads one entry with its flags and review; the reading is
    recorded before it is returned, and so is the read of an id that names no
    entry (denied) — or an entry outside her scope, recorded and answered alike."""
    scope = audit_scope_of(actor=actor, action=Action.READ)
    try:
        entry = audit_entry_get(entry_id=entry_id, scope=scope)
    except NotFoundOrNotAllowed:
        query = {"entry": str(entry_id)}
        raise audit_record_unknown_entry(actor=actor, entry_id=str(entry_id), query=query) from None
    flags, reviews = flags_and_reviews([entry.id])
    audit_record_auditor_view(
        actor=actor,
        action=Action.READ,
        citizen_ids=[entry.citizen_id],
        query={"entry": str(entry.id)},
    )
    return EntryRead(entry, flags.get(entry.id, []), reviews.get(entry.id), scope)
