"""One entry, one call: a PL/pgSQL function that digests, chains and inserts a
single entry. Its statements' plans are cached for the session, so the common
case (one read, one write) costs one round trip with no planning. The digest
is the same expression as ``audit_entry_digest``, written out so that it runs
in the cached plan rather than as a nested SQL-function call.

The chain head is one row updated by every append; a low fill factor leaves
room on its page so that old versions are pruned before they pile up."""

from django.db import migrations

PARAMS = """
    p_actor_user_id bigint, p_actor_username text, p_actor_role text,
    p_actor_organisation_id bigint, p_actor_organisation_name text, p_task text,
    p_partner_organisation_id bigint, p_citizen_id bigint, p_action text,
    p_resource_type text, p_resource_id text, p_purpose text, p_outcome text,
    p_reason_code text, p_request_id text, p_client_address inet, p_user_agent text,
    p_detail jsonb
"""
VALUES = """
    p_actor_user_id, p_actor_username, p_actor_role, p_actor_organisation_id,
    p_actor_organisation_name, p_task, p_partner_organisation_id, p_citizen_id, p_action,
    p_resource_type, p_resource_id, p_purpose, p_outcome, p_reason_code, p_request_id,
    p_client_address, p_user_agent, p_detail
"""

# As in audit_entry_digest (0002): the client address as host text.
DIGESTED = VALUES.replace("p_client_address,", "host(p_client_address),")

FUNCTION_SQL = f"""
CREATE FUNCTION audit_append_entry({PARAMS},
    OUT entry_id bigint, OUT entry_at timestamptz, OUT entry_digest bytea, OUT entry_hash bytea)
LANGUAGE plpgsql AS $$
DECLARE
    previous bytea;
BEGIN
    entry_digest := sha256(convert_to(jsonb_build_array({DIGESTED})::text, 'UTF8'));
    SELECT c.seq, c.hash INTO entry_id, previous FROM audit_chainhead c WHERE c.id = 1 FOR UPDATE;
    IF FOUND THEN
        -- The clock is read once the lock is held: time follows chain order.
        entry_at := clock_timestamp();
        entry_id := entry_id + 1;
        entry_hash := sha256(previous || entry_digest || int8send(audit_epoch_us(entry_at)));
        UPDATE audit_chainhead SET seq = entry_id, hash = entry_hash WHERE id = 1;
    ELSE
        -- No head (an emptied database): the batch path re-creates it safely.
        SELECT a.seq, a.at, a.chain_hash INTO entry_id, entry_at, entry_hash
            FROM audit_chain_append(ARRAY[entry_digest]) a;
    END IF;
    INSERT INTO audit_auditentry (
        id, recorded_at, actor_user_id, actor_username, actor_role, actor_organisation_id,
        actor_organisation_name, task, partner_organisation_id, citizen_id, action,
        resource_type, resource_id, purpose, outcome, reason_code, request_id,
        client_address, user_agent, detail, digest, chain_hash)
    VALUES (entry_id, entry_at, {VALUES}, entry_digest, entry_hash);
END $$;
ALTER TABLE audit_chainhead SET (fillfactor = 10);
"""

REVERSE_SQL = f"""
DROP FUNCTION audit_append_entry({PARAMS});
ALTER TABLE audit_chainhead RESET (fillfactor);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION_SQL, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_chain_head_recreate_race")]

    operations = [migrations.RunPython(forward, backward)]
