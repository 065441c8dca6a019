"""The follow-up figures of a month as first released to analysts, kept so
that every later request of the month gets the same rows (R6,
docs/decisions/0035)."""

import django.utils.timezone
from django.db import migrations, models

# On PostgreSQL a month as released is kept as written: the database itself
# refuses UPDATE and DELETE, so no month is ever released a second time.
KEPT = """
CREATE OR REPLACE FUNCTION acute_figures_release_kept() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER acute_figuresmonthrelease_kept
    BEFORE UPDATE OR DELETE ON acute_figuresmonthrelease
    FOR EACH ROW EXECUTE FUNCTION acute_figures_release_kept();
"""
DROP = """
DROP TRIGGER IF EXISTS acute_figuresmonthrelease_kept ON acute_figuresmonthrelease;
DROP FUNCTION IF EXISTS acute_figures_release_kept();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(KEPT, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("acute", "0016_visit_withdrawn_on_hospital_report"),
    ]

    operations = [
        migrations.CreateModel(
            name="FiguresMonthRelease",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField(unique=True)),
                ("rows", models.JSONField()),
                ("min_cell", models.PositiveSmallIntegerField()),
                ("released_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("month__day", 1)),
                        name="acute_figures_release_first_of_month",
                    )
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
