"""On PostgreSQL the ledger refuses UPDATE and DELETE in the database itself,
so not even raw SQL can rewrite stock history."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION medicine_cabinet_movement_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'medicine_cabinet_movement is append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS medicine_cabinet_movement_append_only ON medicine_cabinet_movement;
CREATE TRIGGER medicine_cabinet_movement_append_only
    BEFORE UPDATE OR DELETE ON medicine_cabinet_movement
    FOR EACH ROW EXECUTE FUNCTION medicine_cabinet_movement_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS medicine_cabinet_movement_append_only ON medicine_cabinet_movement;
DROP FUNCTION IF EXISTS medicine_cabinet_movement_append_only();
"""


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("medicine_cabinet", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
