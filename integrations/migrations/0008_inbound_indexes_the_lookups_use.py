"""A received message's row keeps the indexes its look-ups use, and no more.

- ``partner_id`` alone goes: every look-up by partner (the de-duplication
  by Bundle.id or MessageHeader.id, a partner's PROTECT check) is served by
  ``inbound_bundle_once`` and ``inbound_header_once``, which lead with it.
- ``citizen_id`` alone becomes ``inbound_citizen_stay_idx`` on the citizen and
  the stay (``result->>'episode_of_care'``): a hospital message's check for a
  later event of the same stay, and for a death it cancels, read the stay's
  few messages instead of every message of every stay the citizen has had.
  It still leads with the citizen, for her PROTECT check.
- ``noted_by_id`` keeps only the rows a coordinator has noted (a user's
  PROTECT check); the messages nobody needs to note have no entry to write.
"""

import django.db.models.deletion
import django.db.models.fields.json
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0010_membership_valid_from"),
        ("integrations", "0007_outbound_handled"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="inboundmessage",
            name="citizen",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.citizen",
            ),
        ),
        migrations.AlterField(
            model_name="inboundmessage",
            name="noted_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="inboundmessage",
            name="partner",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="inbox",
                to="integrations.partner",
            ),
        ),
        migrations.AddIndex(
            model_name="inboundmessage",
            index=models.Index(
                models.F("citizen"),
                django.db.models.fields.json.KeyTextTransform("episode_of_care", "result"),
                name="inbound_citizen_stay_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="inboundmessage",
            index=models.Index(
                condition=models.Q(("noted_by__isnull", False)),
                fields=["noted_by"],
                name="inbound_noted_by_idx",
            ),
        ),
    ]
