"""Entries are appended without the chain: each is one plain insert with its
id from a sequence, and no row every writer must lock (docs/decisions/0012).

- ``audit_entry_id_seq`` hands out ids, starting after every id the chain
  gave; the platform's role may advance it but not set it (core.dbroles).
- ``chain_hash`` is kept for the entries written under the chain and empty
  for every entry after them; the chain head stays where it is, frozen.
- The flag scan follows positions in the tree instead of ids, which no
  longer come in commit order.
"""

import importlib

from django.db import migrations, models

_0005 = importlib.import_module("consent.audit.migrations.0005_append_in_one_statement")

FORWARD_SQL = """
CREATE SEQUENCE audit_entry_id_seq AS bigint;
SELECT setval('audit_entry_id_seq', greatest(
    (SELECT coalesce(max(seq), 0) FROM audit_chainhead),
    (SELECT coalesce(max(id), 0) FROM audit_auditentry)) + 1, false);
DROP FUNCTION audit_chain_append(bytea[]);
"""

BACKWARD_SQL = "DROP SEQUENCE audit_entry_id_seq;"


def _forward_sql(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD_SQL, params=None)


def _backward_sql(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD_SQL, params=None)
        schema_editor.execute(_0005.BATCH_FUNCTION_SQL, params=None)


def _scan_from_position(apps, schema_editor):
    """The scan goes on from the position of the last entry it read, if that
    entry is placed already; otherwise it reads the log again from the start
    (flags are raised once per entry and kind, so nothing is raised twice)."""
    FlagScanState = apps.get_model("audit", "FlagScanState")
    LogLeaf = apps.get_model("audit", "LogLeaf")
    state = FlagScanState.objects.filter(pk=1).first()
    if state is None or not state.last_seq:
        return
    leaf = LogLeaf.objects.filter(entry_id=state.last_seq).first()
    if leaf is not None:
        state.log, state.position = leaf.log, leaf.position
        state.save(update_fields=["log", "position"])


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0007_transparency_log"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="chain_hash",
            field=models.BinaryField(blank=True, max_length=32, null=True),
        ),
        migrations.RunPython(_forward_sql, _backward_sql),
        migrations.AddField(
            model_name="flagscanstate",
            name="log",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="flagscanstate",
            name="position",
            field=models.BigIntegerField(default=-1),
        ),
        migrations.RunPython(_scan_from_position, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="flagscanstate",
            name="last_seq",
        ),
    ]
