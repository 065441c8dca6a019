"""Concurrent writers finding the chain head missing (an emptied test database)
no longer mistake each other's first entries for a broken log: only the writer
that re-creates the head checks that the log is empty, while it holds the head."""

from django.db import migrations

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION audit_chain_append(digests bytea[])
RETURNS TABLE(ord integer, seq bigint, at timestamptz, chain_hash bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    h bytea;
    s bigint;
    t timestamptz;
    stamp bytea;
BEGIN
    SELECT c.seq, c.hash INTO s, h FROM audit_chainhead c WHERE c.id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        -- An empty log starts at genesis. Whoever inserts the head holds it,
        -- so its check that no entries exist cannot race another writer;
        -- a log with entries but no head is broken and takes no more.
        INSERT INTO audit_chainhead (id, seq, hash)
            VALUES (1, 0, sha256(convert_to('tvaerakut audit log genesis', 'UTF8')))
            ON CONFLICT (id) DO NOTHING;
        IF FOUND AND EXISTS (SELECT 1 FROM audit_auditentry) THEN
            RAISE EXCEPTION 'the audit chain head is missing'
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        SELECT c.seq, c.hash INTO s, h FROM audit_chainhead c WHERE c.id = 1 FOR UPDATE;
    END IF;
    -- Read the clock only once the lock is held: time then follows chain order.
    t := clock_timestamp();
    stamp := int8send(audit_epoch_us(t));
    FOR i IN 1 .. coalesce(array_length(digests, 1), 0) LOOP
        s := s + 1;
        h := sha256(h || digests[i] || stamp);
        ord := i;
        seq := s;
        at := t;
        chain_hash := h;
        RETURN NEXT;
    END LOOP;
    UPDATE audit_chainhead SET seq = s, hash = h WHERE id = 1;
END $$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_chain_partitions_triggers")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
