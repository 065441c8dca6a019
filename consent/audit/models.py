"""Audit log entries (R9), appended, never updated or deleted.

An entry is one plain insert: its id from a sequence, its time, its content and
``digest``, the SHA-256 of its canonical content. No row is shared by writers.
The sequencer then gives it a position in the year's Merkle tree (the
transparency log: :class:`LogLeaf`, :class:`LogTile`, :class:`LogCheckpoint`,
docs/audit.md). Ids are unique but not gapless (a rolled-back writer leaves a
hole) and not in commit order; the position in the tree is the order.

Entries written before the tree existed also carry ``chain_hash``, their link
in the hash chain that preceded it: ``sha256(chain_hash[n-1] || digest[n] ||
recorded_at as 8-byte big-endian epoch microseconds)``, ending at the frozen
:class:`ChainHead`. The chain is verified once before those entries are carried
into the tree (``consent.audit.chain``).

Flags and reviews live beside the log in their own tables, never in it.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, pgettext

from core.times import shown


class Action(models.TextChoices):
    READ = "read", "Read"
    SEARCH = "search", "Search"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    EXPORT = "export", "Export"
    DISCLOSE = "disclose", "Disclose"
    BREAK_GLASS = "break_glass", "Break the glass"


class Purpose(models.TextChoices):
    """Purpose of use, in the spirit of HL7 v3 PurposeOfUse (TREAT, ETREAT, HOPERAT, ...)."""

    TREATMENT = "treatment", "Treatment"
    EMERGENCY = "emergency", "Emergency treatment (break-the-glass)"
    OPERATIONS = "operations", "Operations"
    ANALYSIS = "analysis", "Analysis"
    AUDIT = "audit", "Audit"


class Outcome(models.TextChoices):
    PERMITTED = "permitted", "Permitted"
    DENIED = "denied", "Denied"


# The content fields covered by an entry's digest, in canonical order. The id,
# time and hashes are covered by the chain itself.
DIGEST_FIELDS = (
    "actor_user_id",
    "actor_username",
    "actor_role",
    "actor_organisation_id",
    "actor_organisation_name",
    "task",
    "partner_organisation_id",
    "citizen_id",
    "action",
    "resource_type",
    "resource_id",
    "purpose",
    "outcome",
    "reason_code",
    "request_id",
    "client_address",
    "user_agent",
    "detail",
)


class AuditEntry(models.Model):
    """One access to citizen data (or one denied attempt).

    Actors are copied by value (id, name, role, organisation) so the entry
    stays true when staff or organisations change later. The citizen is the
    internal id, never the CPR number.

    On PostgreSQL the table is partitioned by month on ``recorded_at`` and its
    primary key is ``(id, recorded_at)``; Django addresses rows by ``id`` alone,
    which is unique because one sequence (``audit_entry_id_seq``, which the
    platform's role may advance but not set) hands it out.
    """

    id = models.BigIntegerField(primary_key=True)
    recorded_at = models.DateTimeField()
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    actor_organisation_id = models.BigIntegerField(null=True, blank=True)
    actor_organisation_name = models.CharField(max_length=200, blank=True)
    # Background work: the task or command, and the partner it acts for.
    task = models.CharField(max_length=200, blank=True)
    partner_organisation_id = models.BigIntegerField(null=True, blank=True)
    citizen_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    resource_type = models.CharField(max_length=64, blank=True)
    resource_id = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason_code = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    digest = models.BinaryField(max_length=32)
    # Only entries written under the hash chain, before the transparency log.
    chain_hash = models.BinaryField(max_length=32, null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["recorded_at"], name="audit_entry_time"),
            models.Index(fields=["citizen_id", "recorded_at"], name="audit_entry_citizen"),
            models.Index(fields=["actor_user_id", "recorded_at"], name="audit_entry_user"),
            models.Index(
                fields=["actor_organisation_id", "recorded_at"], name="audit_entry_organisation"
            ),
        ]

    def __str__(self) -> str:
        who = self.actor_username or self.task
        return gettext("%(at)s %(action)s (%(outcome)s) by %(who)s") % {
            "at": shown(self.recorded_at, "d.m.Y H:i:s"),
            "action": pgettext("record label", self.get_action_display()),
            "outcome": pgettext("record label", self.get_outcome_display()),
            "who": who,
        }


class ChainHead(models.Model):
    """The end of the hash chain that preceded the transparency log: its last
    position and hash. Frozen: no entry is chained any more, and the platform's
    role may only read it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.BinaryField(max_length=32)
    # When the last entry was recorded (none yet: null).
    at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(name="audit_chain_head_single", condition=Q(id=1))]

    def __str__(self) -> str:
        return f"chain head at {self.seq}"


# A monthly partition of the log (PostgreSQL): audit_auditentry_yYYYYmMM.
MONTHLY_PARTITION = re.compile(r"^audit_auditentry_y(\d{4})m(\d{2})$")


class ArchiveCheckpoint(models.Model):
    """A month detached to archive storage: its first and last ids, and for a
    month of chained entries the chain hash it ends with, so that verifying
    the chain starts from here. Its entries' leaves stay in the tree."""

    partition = models.CharField(max_length=63, unique=True)
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    last_chain_hash = models.BinaryField(max_length=32)
    row_count = models.BigIntegerField()
    file_path = models.CharField(max_length=500)
    file_sha256 = models.CharField(max_length=64)
    archived_at = models.DateTimeField()

    class Meta:
        ordering = ["last_seq"]
        constraints = [
            models.CheckConstraint(
                name="audit_checkpoint_range", condition=Q(first_seq__lte=models.F("last_seq"))
            )
        ]

    def __str__(self) -> str:
        return f"{self.partition} archived ({self.first_seq}..{self.last_seq})"

    def until(self) -> dt.datetime:
        """The end of the archived month (UTC)."""
        match = MONTHLY_PARTITION.match(self.partition)
        if match is None:
            raise ValueError(f"not a monthly partition: {self.partition}")
        year, month = int(match[1]), int(match[2])
        return dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)


class Flag(models.TextChoices):
    BREAK_GLASS = "break_glass", "Break-the-glass use"
    DENIED = "denied", "Denied access"
    OFF_SHIFT = "off_shift", "Access outside the user's shift"
    MANY_CITIZENS = "many_citizens", "Unusually many citizens within an hour"
    NO_AGREEMENT = "no_agreement", "Citizen of a municipality without an agreement"


class AuditFlag(models.Model):
    """A reason for an auditor to look at an entry. Beside the log, appended."""

    entry_id = models.BigIntegerField()
    entry_recorded_at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Flag.choices)
    raised_at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry_id", "kind"], name="audit_flag_once_per_kind")
        ]
        indexes = [models.Index(fields=["kind", "entry_recorded_at"], name="audit_flag_kind")]

    def __str__(self) -> str:
        return f"{self.kind} on entry {self.entry_id}"


class EntryReview(models.Model):
    """An auditor's review of a flagged entry (reviewed by, when, comment)."""

    entry_id = models.BigIntegerField(unique=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="audit_reviews"
    )
    reviewed_at = models.DateTimeField()
    comment = models.TextField()

    class Meta:
        constraints = [
            models.CheckConstraint(name="audit_review_has_comment", condition=~Q(comment=""))
        ]

    def __str__(self) -> str:
        return f"review of entry {self.entry_id}"


class FlagScanState(models.Model):
    """How far the flag scan has read the log, in the sequencer's order: up to
    ``position`` of ``log`` (-1: none of it). Ids are not in commit order, so
    the scan follows positions, which become visible in order."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    log = models.CharField(max_length=100, blank=True)
    position = models.BigIntegerField(default=-1)

    class Meta:
        constraints = [models.CheckConstraint(name="audit_flag_scan_single", condition=Q(id=1))]

    def __str__(self) -> str:
        return f"flags scanned to {self.log}:{self.position}"


# --- the transparency log (docs/audit.md, docs/decisions/0012) -------------------


class PendingEntry(models.Model):
    """An entry committed to the log but not yet given a position in the
    Merkle tree. Written by the same statement as the entry; removed by the
    sequencer in the transaction that gives the entry its position. The
    sequencer reads this set, never "ids above the last one seen", so an
    entry whose writer commits late is sequenced all the same."""

    entry_id = models.BigIntegerField(primary_key=True)
    recorded_at = models.DateTimeField()

    class Meta:
        db_table = "audit_pending"

    def __str__(self) -> str:
        return f"entry {self.entry_id} awaiting its position"


class LogLeaf(models.Model):
    """An entry's position in one year's log (its shard). Appended only."""

    entry_id = models.BigIntegerField(primary_key=True)
    log = models.CharField(max_length=100)
    position = models.BigIntegerField()
    recorded_at = models.DateTimeField()

    class Meta:
        db_table = "audit_log_leaf"
        constraints = [
            models.UniqueConstraint(fields=["log", "position"], name="audit_leaf_position_once"),
            models.CheckConstraint(name="audit_leaf_position_valid", condition=Q(position__gte=0)),
        ]

    def __str__(self) -> str:
        return f"entry {self.entry_id} at {self.log}:{self.position}"


class LogTile(models.Model):
    """Stored hashes of the tree, laid out as Tessera's tiles: tile ``index``
    at tile level ``level`` holds up to 256 node hashes of tree level
    ``8 * level``, from node ``256 * index`` on. A tile that grows is stored
    again, wider; the widest is current. Appended only; the database's owner
    prunes the narrower copies of a tile, never its widest
    (docs/decisions/0017)."""

    log = models.CharField(max_length=100)
    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    width = models.PositiveSmallIntegerField()
    hashes = models.BinaryField()

    class Meta:
        db_table = "audit_log_tile"
        constraints = [
            models.UniqueConstraint(
                fields=["log", "level", "index", "width"], name="audit_tile_width_once"
            ),
            models.CheckConstraint(
                name="audit_tile_width_valid", condition=Q(width__gte=1, width__lte=256)
            ),
        ]

    def __str__(self) -> str:
        return f"tile {self.log}/{self.level}/{self.index} ({self.width})"


class LogCheckpoint(models.Model):
    """A signed checkpoint (C2SP tlog-checkpoint): the log's size and root
    hash, and the signed note as served. Appended only."""

    log = models.CharField(max_length=100)
    size = models.BigIntegerField()
    root = models.BinaryField(max_length=32)
    note = models.TextField()
    signed_at = models.DateTimeField()

    class Meta:
        db_table = "audit_log_checkpoint"
        indexes = [
            models.Index(fields=["log", "size"], name="audit_checkpoint_size"),
            # A log's newest checkpoint, found in one probe however many it has.
            models.Index(fields=["log", "id"], name="audit_checkpoint_latest"),
        ]
        constraints = [
            models.CheckConstraint(name="audit_checkpoint_size_valid", condition=Q(size__gte=0))
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.log} at {self.size}"


class LogCosignature(models.Model):
    """A witness's cosignature of a checkpoint, as delivered by the witness,
    or its refusal of one (``refused``, with the reason). Appended only."""

    checkpoint = models.ForeignKey(LogCheckpoint, on_delete=models.PROTECT)
    witness = models.CharField(max_length=200)
    signature_line = models.TextField(blank=True)
    # The witness's own time (whole seconds, from its signature) ...
    cosigned_at = models.DateTimeField()
    # ... and when the platform received and verified it.
    received_at = models.DateTimeField(default=timezone.now)
    refused = models.BooleanField(default=False)
    problem = models.CharField(max_length=300, blank=True)

    class Meta:
        db_table = "audit_log_cosignature"
        indexes = [models.Index(fields=["witness", "cosigned_at"], name="audit_cosig_time")]

    def __str__(self) -> str:
        return f"{self.witness} on {self.checkpoint_id}"


class LogInstance(models.Model):
    """This database's log, named once at random (one row). Two databases are
    two logs even where they share an origin and a key, as every local run
    (`make run`) does: the witness that run starts keeps its state under this
    name, so a new or another database is a new log to it, never a fork of
    the last one it saw."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "audit_log_instance"
        constraints = [models.CheckConstraint(name="audit_log_instance_one", condition=Q(id=1))]

    def __str__(self) -> str:
        return f"log instance {self.uid}"
