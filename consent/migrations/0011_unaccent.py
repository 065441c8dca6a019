"""PostgreSQL's ``unaccent``, for R4's string search of a citizen's name
"normalized by case and accent" (``consent.selectors.patient_search``)."""

from typing import Any

from django.db import migrations


def create_unaccent(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")


class Migration(migrations.Migration):
    dependencies = [("consent", "0010_analysis_answer_keyed_by_view")]

    operations = [migrations.RunPython(create_unaccent, migrations.RunPython.noop)]
