"""Tiles: the narrower copies of a tile may be pruned, its widest never.

A tile that grows is stored again, wider; every node a narrower copy holds
is also in the wider one (a node's hash never changes once its leaves are
all there), so the narrower copies serve no proof for any checkpoint. On
PostgreSQL the tile table's row trigger now lets a DELETE through only for
a copy that a wider copy of the same tile supersedes; updates stay refused,
and the platform's role still may not delete at all (docs/decisions/0017).

Also an index for a log's newest checkpoint.
"""

from django.db import migrations, models

PRUNE_ONLY = """
CREATE FUNCTION audit_tile_prune_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM audit_log_tile wider
        WHERE wider.log = OLD.log AND wider.level = OLD.level
          AND wider.index = OLD.index AND wider.width > OLD.width
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % refused (only a tile copy that a wider copy supersedes may be removed)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER audit_log_tile_append_only ON audit_log_tile;
CREATE TRIGGER audit_log_tile_append_only BEFORE UPDATE OR DELETE ON audit_log_tile
    FOR EACH ROW EXECUTE FUNCTION audit_tile_prune_only();
"""

APPEND_ONLY = """
DROP TRIGGER audit_log_tile_append_only ON audit_log_tile;
CREATE TRIGGER audit_log_tile_append_only BEFORE UPDATE OR DELETE ON audit_log_tile
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
DROP FUNCTION audit_tile_prune_only();
"""


def _forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PRUNE_ONLY, params=None)


def _backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0009_cosignature_received_at"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="logcheckpoint",
            index=models.Index(fields=["log", "id"], name="audit_checkpoint_latest"),
        ),
        migrations.RunPython(_forward, _backward),
    ]
