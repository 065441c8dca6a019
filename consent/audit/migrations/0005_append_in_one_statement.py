"""A single entry is appended by one SQL statement rather than a PL/pgSQL call:
the statement digests the entry, moves the chain head (which takes its row
lock until commit) and inserts the entry. Each PL/pgSQL statement costs an
executor start of its own.

``audit_entry_digest`` and ``audit_epoch_us`` are declared STABLE, as the
functions they call are (``jsonb_build_array``, ``convert_to``, ``extract``
on a timestamptz). Declared IMMUTABLE, the planner would not inline them, and
every statement that called them planned their bodies again at run time; now
they are inlined into the statement's prepared plan. Their results are
unchanged.

The head now also holds the time of the last entry, which the statement
returns. The batch function sets it too."""

import importlib

from django.db import migrations, models

_0003 = importlib.import_module("consent.audit.migrations.0003_chain_head_recreate_race")
_0004 = importlib.import_module("consent.audit.migrations.0004_append_entry_function")

# The batch function of 0003, moving the head's time with its position.
_HEAD_MOVE = "UPDATE audit_chainhead SET seq = s, hash = h WHERE id = 1;"
assert _HEAD_MOVE in _0003.FUNCTION_SQL
BATCH_FUNCTION_SQL = _0003.FUNCTION_SQL.replace(
    _HEAD_MOVE, "UPDATE audit_chainhead SET seq = s, hash = h, at = t WHERE id = 1;"
)

_DIGEST_SIGNATURE = (
    "audit_entry_digest(bigint, text, text, bigint, text, text, bigint, bigint, text, text, "
    "text, text, text, text, text, inet, text, jsonb)"
)

FORWARD_SQL = (
    BATCH_FUNCTION_SQL
    + f"""
ALTER FUNCTION audit_epoch_us(timestamptz) STABLE;
ALTER FUNCTION {_DIGEST_SIGNATURE} STABLE;
DROP FUNCTION audit_append_entry({_0004.PARAMS});
UPDATE audit_chainhead c SET at = (SELECT e.recorded_at FROM audit_auditentry e WHERE e.id = c.seq);
"""
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD_SQL, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER FUNCTION audit_epoch_us(timestamptz) IMMUTABLE; "
            f"ALTER FUNCTION {_DIGEST_SIGNATURE} IMMUTABLE;",
            params=None,
        )
        schema_editor.execute(_0003.FUNCTION_SQL, params=None)
        schema_editor.execute(_0004.FUNCTION_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_append_entry_function")]

    operations = [
        migrations.AddField(
            model_name="chainhead",
            name="at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(forward, backward),
    ]
