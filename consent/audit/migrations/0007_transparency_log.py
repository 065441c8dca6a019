"""The transparency log beside the entries: entries awaiting a position,
positions, tiles, signed checkpoints and witnesses' cosignatures.

Positions, tiles, checkpoints and cosignatures are append-only like the log
(the same trigger on PostgreSQL). Every entry already in the log awaits its
position, so the sequencer carries the chained entries into the tree in
chain order (after verifying the chain once, see ``consent.audit.sequencer``).
"""

import django.db.models.deletion
from django.db import migrations, models


APPEND_ONLY = ("audit_log_leaf", "audit_log_tile", "audit_log_checkpoint", "audit_log_cosignature")


def _forward(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_pending (entry_id, recorded_at) "
            "SELECT id, recorded_at FROM audit_auditentry"
        )
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in APPEND_ONLY:
            cursor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
            )
            cursor.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
            )


def _backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table in APPEND_ONLY:
            cursor.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            cursor.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0006_chain_head_guard"),
    ]

    operations = [
        migrations.CreateModel(
            name="PendingEntry",
            fields=[
                ("entry_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("recorded_at", models.DateTimeField()),
            ],
            options={
                "db_table": "audit_pending",
            },
        ),
        migrations.CreateModel(
            name="LogCheckpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("log", models.CharField(max_length=100)),
                ("size", models.BigIntegerField()),
                ("root", models.BinaryField(max_length=32)),
                ("note", models.TextField()),
                ("signed_at", models.DateTimeField()),
            ],
            options={
                "db_table": "audit_log_checkpoint",
                "indexes": [models.Index(fields=["log", "size"], name="audit_checkpoint_size")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("size__gte", 0)), name="audit_checkpoint_size_valid"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="LogLeaf",
            fields=[
                ("entry_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("log", models.CharField(max_length=100)),
                ("position", models.BigIntegerField()),
                ("recorded_at", models.DateTimeField()),
            ],
            options={
                "db_table": "audit_log_leaf",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("log", "position"), name="audit_leaf_position_once"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("position__gte", 0)), name="audit_leaf_position_valid"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="LogTile",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("log", models.CharField(max_length=100)),
                ("level", models.PositiveSmallIntegerField()),
                ("index", models.BigIntegerField()),
                ("width", models.PositiveSmallIntegerField()),
                ("hashes", models.BinaryField()),
            ],
            options={
                "db_table": "audit_log_tile",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("log", "level", "index", "width"), name="audit_tile_width_once"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("width__gte", 1), ("width__lte", 256)),
                        name="audit_tile_width_valid",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="LogCosignature",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("witness", models.CharField(max_length=200)),
                ("signature_line", models.TextField(blank=True)),
                ("cosigned_at", models.DateTimeField()),
                ("refused", models.BooleanField(default=False)),
                ("problem", models.CharField(blank=True, max_length=300)),
                (
                    "checkpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, to="audit.logcheckpoint"
                    ),
                ),
            ],
            options={
                "db_table": "audit_log_cosignature",
                "indexes": [
                    models.Index(fields=["witness", "cosigned_at"], name="audit_cosig_time")
                ],
            },
        ),
        migrations.RunPython(_forward, _backward),
    ]
