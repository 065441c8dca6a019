"""The chain head, and on PostgreSQL: monthly partitions, append-only triggers,
and the functions that digest and chain entries inside the database.

SQLite (development) keeps the plain table made by 0001; the chain there is
computed in Python by a single writer.
"""

import hashlib

from django.db import migrations

GENESIS = hashlib.sha256(b"tvaerakut audit log genesis").digest()

DIGEST_ARGS = """
    actor_user_id bigint, actor_username text, actor_role text,
    actor_organisation_id bigint, actor_organisation_name text, task text,
    partner_organisation_id bigint, citizen_id bigint, action text,
    resource_type text, resource_id text, purpose text, outcome text,
    reason_code text, request_id text, client_address inet, user_agent text,
    detail jsonb
"""

POSTGRES_SQL = f"""
DROP TABLE audit_auditentry;
CREATE TABLE audit_auditentry (
    id bigint NOT NULL,
    recorded_at timestamptz NOT NULL,
    actor_user_id bigint NULL,
    actor_username varchar(150) NOT NULL,
    actor_role varchar(32) NOT NULL,
    actor_organisation_id bigint NULL,
    actor_organisation_name varchar(200) NOT NULL,
    task varchar(200) NOT NULL,
    partner_organisation_id bigint NULL,
    citizen_id bigint NULL,
    action varchar(16) NOT NULL,
    resource_type varchar(64) NOT NULL,
    resource_id varchar(64) NOT NULL,
    purpose varchar(16) NOT NULL,
    outcome varchar(16) NOT NULL,
    reason_code varchar(64) NOT NULL,
    request_id varchar(64) NOT NULL,
    client_address inet NULL,
    user_agent varchar(300) NOT NULL,
    detail jsonb NOT NULL,
    digest bytea NOT NULL,
    chain_hash bytea NOT NULL,
    PRIMARY KEY (id, recorded_at)
) PARTITION BY RANGE (recorded_at);
CREATE INDEX audit_entry_time ON audit_auditentry (recorded_at);
CREATE INDEX audit_entry_citizen ON audit_auditentry (citizen_id, recorded_at);
CREATE INDEX audit_entry_user ON audit_auditentry (actor_user_id, recorded_at);
CREATE INDEX audit_entry_organisation ON audit_auditentry (actor_organisation_id, recorded_at);

-- The one exception: Django's test runner empties a *test* database between
-- tests (TRUNCATE), and says so with a session setting. A database not named
-- test_* is never truncated, whatever the session says.
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND current_database() LIKE 'test\\_%'
       AND current_setting('tvaerakut.test_flush', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Nothing is ever refused for want of a partition.
CREATE TABLE audit_auditentry_default PARTITION OF audit_auditentry DEFAULT;
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_auditentry_default
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

CREATE FUNCTION audit_partition_ensure(month date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    start date := date_trunc('month', month)::date;
    stop date := (date_trunc('month', month) + interval '1 month')::date;
    name text := format('audit_auditentry_y%sm%s', to_char(start, 'YYYY'), to_char(start, 'MM'));
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF audit_auditentry FOR VALUES FROM (%L) TO (%L)',
        name, start::timestamp AT TIME ZONE 'UTC', stop::timestamp AT TIME ZONE 'UTC');
    EXECUTE format(
        'CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON %I '
        'FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()', name);
    RETURN name;
EXCEPTION WHEN check_violation THEN
    -- Rows for this month already sit in the default partition (it was
    -- missing when they arrived); they stay there and stay verifiable.
    RAISE NOTICE 'audit partition % not created: the default partition holds rows for it', name;
    RETURN NULL;
END $$;
SELECT audit_partition_ensure(((now() AT TIME ZONE 'UTC')::date + make_interval(months => m))::date)
    FROM generate_series(0, 2) AS m;

CREATE FUNCTION audit_epoch_us(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (extract(epoch FROM t) * 1000000)::bigint
$$;

-- SHA-256 of the canonical content: a JSON array of the content fields.
CREATE FUNCTION audit_entry_digest({DIGEST_ARGS}) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(convert_to(jsonb_build_array(
        actor_user_id, actor_username, actor_role, actor_organisation_id,
        actor_organisation_name, task, partner_organisation_id, citizen_id, action,
        resource_type, resource_id, purpose, outcome, reason_code, request_id,
        host(client_address), user_agent, detail)::text, 'UTF8'))
$$;

-- Takes the head's row lock (held until commit), hands out the next positions
-- and chain hashes for the given digests, and moves the head.
CREATE FUNCTION audit_chain_append(digests bytea[])
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
        -- An empty log (a fresh or emptied test database) starts at genesis;
        -- a log with entries but no head is broken and takes no more.
        IF EXISTS (SELECT 1 FROM audit_auditentry) THEN
            RAISE EXCEPTION 'the audit chain head is missing'
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        INSERT INTO audit_chainhead (id, seq, hash)
            VALUES (1, 0, sha256(convert_to('tvaerakut audit log genesis', 'UTF8')))
            ON CONFLICT (id) DO NOTHING;
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

POSTGRES_REVERSE_SQL = """
DROP FUNCTION audit_chain_append(bytea[]);
DROP FUNCTION audit_entry_digest({args});
DROP FUNCTION audit_epoch_us(timestamptz);
DROP FUNCTION audit_partition_ensure(date);
DROP TABLE audit_auditentry CASCADE;
DROP FUNCTION audit_refuse_change();
""".replace("{args}", DIGEST_ARGS)


def seed(apps, schema_editor):
    ChainHead = apps.get_model("audit", "ChainHead")
    FlagScanState = apps.get_model("audit", "FlagScanState")
    ChainHead.objects.using(schema_editor.connection.alias).create(id=1, seq=0, hash=GENESIS)
    FlagScanState.objects.using(schema_editor.connection.alias).create(id=1, last_seq=0)


def postgres_forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_SQL, params=None)


def postgres_backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_REVERSE_SQL, params=None)
        AuditEntry = apps.get_model("audit", "AuditEntry")
        schema_editor.create_model(AuditEntry)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(postgres_forward, postgres_backward),
    ]
