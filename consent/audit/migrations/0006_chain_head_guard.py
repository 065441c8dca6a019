"""The chain head only moves forward, and the platform's database role needs
no more than appending.

- Its row is guarded like the log: an update may only advance the position
  (and changes the hash only with it), it is never deleted or truncated, and
  it is created only at genesis on an empty log. At commit, a position the
  head moved to must name an entry with that time and chain hash.
- Monthly partitions are created by a function that runs with its owner's
  rights (SECURITY DEFINER), so the beat job that keeps them ahead works for a
  role that may not create tables (docs/decisions/0008-two-database-roles.md).
"""

from django.db import migrations

FORWARD_SQL = """
CREATE FUNCTION audit_chainhead_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.id <> OLD.id OR NEW.seq < OLD.seq
           OR (NEW.seq = OLD.seq AND NEW.hash IS DISTINCT FROM OLD.hash) THEN
            RAISE EXCEPTION 'the audit chain head only moves forward: % to % refused',
                OLD.seq, NEW.seq USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        -- A second head is refused by the key (or skipped by ON CONFLICT). One
        -- expression, so one snapshot: a writer that re-created the head and
        -- appended since is seen with both or neither.
        IF (NEW.seq <> 0
            OR NEW.hash <> sha256(convert_to('tvaerakut audit log genesis', 'UTF8'))
            OR EXISTS (SELECT 1 FROM audit_auditentry))
           AND NOT EXISTS (SELECT 1 FROM audit_chainhead) THEN
            RAISE EXCEPTION 'the audit chain head starts at genesis on an empty log'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit chain head cannot be removed'
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_chainhead_forward_only BEFORE INSERT OR UPDATE OR DELETE ON audit_chainhead
    FOR EACH ROW EXECUTE FUNCTION audit_chainhead_guard();
CREATE TRIGGER audit_chainhead_no_truncate BEFORE TRUNCATE ON audit_chainhead
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Checked at commit, when the entries the head moved over are in place.
CREATE FUNCTION audit_chainhead_names_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq > 0 AND NOT EXISTS (
        SELECT 1 FROM audit_auditentry e
        WHERE e.id = NEW.seq AND e.recorded_at = NEW.at AND e.chain_hash = NEW.hash
    ) THEN
        RAISE EXCEPTION 'the audit chain head does not name the newest entry (position %)', NEW.seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER audit_chainhead_names_entry AFTER UPDATE ON audit_chainhead
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_chainhead_names_entry();

ALTER FUNCTION audit_partition_ensure(date) SECURITY DEFINER;

-- Names in these functions mean the schema's tables, never a session's
-- temporary ones (pg_temp is searched first unless it is named last).
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION audit_partition_ensure(date) SET search_path = %I, pg_temp',
        current_schema());
    EXECUTE format('ALTER FUNCTION audit_chainhead_guard() SET search_path = %I, pg_temp',
        current_schema());
    EXECUTE format('ALTER FUNCTION audit_chainhead_names_entry() SET search_path = %I, pg_temp',
        current_schema());
END $$;
"""

REVERSE_SQL = """
ALTER FUNCTION audit_partition_ensure(date) RESET search_path;
ALTER FUNCTION audit_partition_ensure(date) SECURITY INVOKER;
DROP TRIGGER audit_chainhead_names_entry ON audit_chainhead;
DROP FUNCTION audit_chainhead_names_entry();
DROP TRIGGER audit_chainhead_no_truncate ON audit_chainhead;
DROP TRIGGER audit_chainhead_forward_only ON audit_chainhead;
DROP FUNCTION audit_chainhead_guard();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD_SQL, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_append_in_one_statement")]

    operations = [migrations.RunPython(forward, backward)]
