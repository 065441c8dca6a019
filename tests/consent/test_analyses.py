"""Restricted analyses (R6): analysts only, aggregates, small counts suppressed,
no suppressed cell recoverable from totals, every run audited, CSV export."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal
from fractions import Fraction

from django.db import connection
from django.test import override_settings
from django.utils import timezone

from consent.analyses import suppress
from consent.audit.models import AuditEntry
from consent.models import CareRelationship, RecordResource
from consent.services import care_relationship_open, record_resource_create
from core.actors import Actor
from core.models import Role
from tests import factories as f
from tests.consent import bodies
from tests.consent.analysis_api import run
from tests.consent.conftest import World


def _recoverable(cells, row_totals, col_totals, total) -> bool:
    """Can any hidden cell be computed from one published line?"""
    lines = [(row, t) for row, t in zip(cells, row_totals, strict=True)]
    lines += [([r[c] for r in cells], col_totals[c]) for c in range(len(col_totals))]
    lines += [(row_totals, total), (col_totals, total)]
    return any(t is not None and sum(v is None for v in parts) == 1 for parts, t in lines)


def test_r6_suppression_hides_small_counts_and_their_complements() -> None:
    cells, rows, cols, total = suppress([[3, 20], [12, 30], [9, 0]], 5)
    assert cells[0][0] is None  # primary
    assert cells[2][1] is None  # a noisy zero says nothing exact: below the threshold too
    assert not _recoverable(cells, rows, cols, total)
    assert all(v is None or v >= 5 for row in cells for v in row)


def test_r6_suppression_is_safe_for_every_small_table() -> None:
    """Noisy counts may be zero or negative: every value below the threshold is
    hidden, and no hidden value follows from a published total."""
    for values in itertools.product([-1, 0, 4, 5, 9], repeat=6):
        counts = [list(values[:2]), list(values[2:4]), list(values[4:])]
        cells, rows, cols, total = suppress(counts, 5)
        assert not _recoverable(cells, rows, cols, total), counts
        shown = [v for row in cells for v in row] + rows + cols + [total]
        assert all(v is None or v >= 5 for v in shown), counts


def _rank(rows: list[list[Fraction]]) -> int:
    rows = [list(r) for r in rows]
    rank = 0
    for col in range(len(rows[0]) if rows else 0):
        at = next((i for i in range(rank, len(rows)) if rows[i][col]), None)
        if at is None:
            continue
        rows[rank], rows[at] = rows[at], rows[rank]
        for i in range(rank + 1, len(rows)):
            factor = rows[i][col] / rows[rank][col]
            rows[i] = [a - factor * b for a, b in zip(rows[i], rows[rank], strict=True)]
        rank += 1
    return rank


def _derived_from_all_totals(cells, row_totals, col_totals, total) -> list[tuple]:
    """The hidden values that every published total taken together fixes: one
    is fixed when leaving it out of the equations (total = sum of its parts)
    lowers their rank."""
    n_rows, n_cols = len(cells), len(col_totals)
    shown: dict[tuple[object, ...], int | None] = {
        ("cell", r, c): cells[r][c] for r in range(n_rows) for c in range(n_cols)
    }
    shown |= {("row", r): row_totals[r] for r in range(n_rows)}
    shown |= {("col", c): col_totals[c] for c in range(n_cols)} | {("grand",): total}
    unknown = [k for k, v in shown.items() if v is None]
    lines: list[tuple[tuple[object, ...], list[tuple[object, ...]]]] = [
        (("row", r), [("cell", r, c) for c in range(n_cols)]) for r in range(n_rows)
    ]
    lines += [(("col", c), [("cell", r, c) for r in range(n_rows)]) for c in range(n_cols)]
    lines += [(("grand",), [("row", r) for r in range(n_rows)])]
    lines += [(("grand",), [("col", c) for c in range(n_cols)])]
    equations = [
        [Fraction(1 if k == t else -1 if k in parts else 0) for k in unknown] for t, parts in lines
    ]
    full = _rank(equations)
    return [
        k
        for i, k in enumerate(unknown)
        if _rank([row[:i] + row[i + 1 :] for row in equations]) < full
    ]


def test_r6_no_hidden_count_follows_from_all_the_totals_together() -> None:
    """No single line gives a hidden count away here, but several did: rows 1
    and 3 less column 2 left their two hidden cells of column 3 (8), and
    column 3's total 21 less its 10 and those 8 was its hidden 3 in row 4."""
    counts = [[10, 8, 5, 6], [1, 52, 10, 7], [8, 1, 3, 51], [1, 48, 3, 4]]
    published = suppress(counts, 5)
    assert not _recoverable(*published)
    assert _derived_from_all_totals(*published) == []
    tables = random.Random(6)
    for _ in range(300):
        n_rows, n_cols = tables.randint(2, 5), tables.randint(2, 5)
        counts = [
            [tables.choice([-1, 0, 2, 4, 6, 9, 20, 50]) for _ in range(n_cols)]
            for _ in range(n_rows)
        ]
        published = suppress(counts, 5)
        assert _derived_from_all_totals(*published) == [], counts
        shown = [v for row in published[0] for v in row] + published[1] + published[2]
        assert all(v is None or v >= 5 for v in [*shown, published[3]]), counts


def _people(world: World, n: int, code: str, muni: str, service: str | None) -> None:
    nurse = Actor.for_membership(world.nurse)
    for _ in range(n):
        person = f.citizen(municipality_code=muni)
        f.open_visit(world.nurse, person)
        record_resource_create(
            actor=nurse, data=bodies.diagnosis(person.pk, code=code), purpose="treatment"
        )
        if service:
            record_resource_create(
                actor=nurse,
                data=bodies.municipal_help(person.pk, service=service),
                purpose="treatment",
            )


# With a budget this large the noise vanishes (a draw other than 0 has probability
# below 1e-25), so the released table shows exactly whom an analysis counts. The
# platform refuses such settings (at most 1 per run); the noise itself is tested
# in test_analysis_privacy.py.
NOISELESS = override_settings(
    CONSENT_ANALYSIS_EPSILON_PER_RUN=Decimal("60"), CONSENT_ANALYSIS_EPSILON_BUDGET=Decimal("600")
)


def _shown(table: dict) -> list[int | None]:
    values = [v for row in table["rows"] for v in [*row["cells"], row["total"]]]
    return [*values, *table["column_totals"], table["total"]]


@NOISELESS
def test_r6_diagnosis_and_service_per_municipality_audited_and_exported(world: World) -> None:
    for code in ("157", "159", "173", "230"):
        f.municipality(code)
    _people(world, 6, "E11", "157", "home-nursing")
    _people(world, 7, "E11", "157", None)
    _people(world, 2, "E11", "159", "home-nursing")
    _people(world, 8, "E11", "159", None)
    _people(world, 5, "E11", "173", "home-nursing")
    _people(world, 9, "E11", "173", None)
    client = f.client_for(world.analyst)
    response = run(client, "diagnosis-and-service", diagnosis="E11", service="home-nursing")
    assert response.status_code == 201, response.content
    table = response.json()
    rows = {r["municipality"]: r for r in table["rows"]}
    assert rows["Gentofte Kommune"]["cells"] == [6, 7]
    assert rows["Gladsaxe Kommune"]["cells"][0] is None  # 2 < 5
    assert rows["Gladsaxe Kommune"]["cells"][1] is None  # else 10 - 8 reveals it
    assert rows["Lyngby-Taarbæk Kommune"]["cells"] == [5, 9]
    assert rows["Rudersdal Kommune"]["cells"] == [None, None]
    assert table["total"] == 37
    assert all(v is None or v >= 5 for v in _shown(table))
    assert table["columns"] == ["modtager hjemmesygepleje", "modtager ikke hjemmesygepleje"]
    assert table["privacy"]["noisy"] is True
    entry = AuditEntry.objects.filter(purpose="analysis").latest("id")
    assert entry.detail["parameters"] == {"diagnosis": "E11", "service": "home-nursing"}
    assert entry.actor_role == "analyst" and entry.citizen_id is None
    csv = client.get(response["Location"] + "/csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    text = csv.content.decode("utf-8-sig")
    # A hidden cell reads as the page reads it: never "<5", which a cell
    # hidden only to protect another (5 or more) is not.
    assert "Gentofte Kommune,6,7,13" in text and ",skjult" in text and "<5" not in text
    assert text.startswith("Kommune,modtager hjemmesygepleje,modtager ikke hjemmesygepleje,I alt")
    assert "støj" in text  # the noise is stated under the table
    assert AuditEntry.objects.filter(purpose="analysis", action="export").count() == 1
    bad = run(client, "diagnosis-and-service", diagnosis="F20", service="home-nursing")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "analysis.diagnosis_invalid"


@NOISELESS
def test_r6_contacts_around_acute_episode(world: World) -> None:
    f.municipality("157")
    nurse = Actor.for_membership(world.nurse)
    for n in range(10):
        person = f.citizen()
        relationship = care_relationship_open(
            citizen=person,
            organisation=world.acute,
            basis=CareRelationship.Basis.VISIT,
            user=world.nurse.user,
            source_type="test.episode",
            source_id=str(n),
        )
        shift = -3 if n < 5 else 1  # five before the episode, five after
        day = timezone.localdate(relationship.started_at) + dt.timedelta(days=shift)
        record_resource_create(
            actor=nurse,
            data=bodies.hospital_contact(person.pk, world.department.pk, start=day.isoformat()),
            purpose="treatment",
        )
    response = run(f.client_for(world.analyst), "contacts-around-acute-episode", days=30)
    assert response.status_code == 201
    gentofte = next(r for r in response.json()["rows"] if r["municipality"] == "Gentofte Kommune")
    assert gentofte["cells"] == [5, 5]
    assert RecordResource.objects.filter(category="hospital-contact").count() == 10


@NOISELESS
def test_r6_contacts_are_counted_in_the_database_each_citizen_once(world: World) -> None:
    """The episodes and contacts of every citizen are counted where they lie,
    one row per municipality and column, never read into the web process row
    by row; a citizen with two episodes and several contacts is one citizen
    in each column."""
    f.municipality("157")
    nurse = Actor.for_membership(world.nurse)
    for n in range(6):
        person = f.citizen()
        for episode in range(2):
            relationship = care_relationship_open(
                citizen=person,
                organisation=world.acute,
                basis=CareRelationship.Basis.VISIT,
                user=world.nurse.user,
                source_type="test.episode",
                source_id=f"{n}-{episode}",
            )
        for shift in (-3, -2, 1, 2):
            day = timezone.localdate(relationship.started_at) + dt.timedelta(days=shift)
            record_resource_create(
                actor=nurse,
                data=bodies.hospital_contact(person.pk, world.department.pk, start=day.isoformat()),
                purpose="treatment",
            )
    reads: list[str] = []

    def watch(execute, sql, params, many, context):
        if '"consent_carerelationship"' in sql and sql.lstrip().upper().startswith("SELECT"):
            reads.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        response = run(f.client_for(world.analyst), "contacts-around-acute-episode", days=30)
    assert response.status_code == 201
    gentofte = next(r for r in response.json()["rows"] if r["municipality"] == "Gentofte Kommune")
    assert gentofte["cells"] == [6, 6]
    assert reads and all("COUNT(DISTINCT" in sql and "GROUP BY" in sql for sql in reads)


def test_r6_only_analysts_run_analyses_and_refusals_are_audited(world: World) -> None:
    """R6 and R9: every other role is refused, and the refused attempt is recorded."""
    for membership in world.by_role().values():
        analyst = membership.role == Role.ANALYST
        got = run(f.client_for(membership), "contacts-around-acute-episode")
        assert got.status_code == (201 if analyst else 403), membership.role
        entry = AuditEntry.objects.filter(actor_user_id=membership.user_id).latest("id")
        assert (entry.purpose, entry.resource_id) == ("analysis", "contacts-around-acute-episode")
        listed = f.client_for(membership).get("/api/consent/analyses")
        assert listed.status_code == (200 if analyst else 403)
        if membership.role == Role.ANALYST:
            assert entry.outcome == "permitted"
        else:
            assert (entry.outcome, entry.reason_code) == ("denied", "role_not_permitted")
            error = got.json()["error"]
            assert (error["code"], error["rule"]) == ("analysis.role", "R6")
    assert f.client_for(None).get("/api/consent/analyses").status_code == 401
    assert run(f.client_for(None), "contacts-around-acute-episode").status_code == 401
