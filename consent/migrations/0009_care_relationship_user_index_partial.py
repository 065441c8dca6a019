"""A care relationship's ``user_id`` index keeps only one person's
relationships: an organisation's (a hospital stay opens one per admission)
have no person, and a look-up by person never asks for those. The gate's
probe uses ``care_rel_probe_idx``.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0008_care_relationship_probe_index"),
        ("core", "0010_membership_valid_from"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="carerelationship",
            name="user",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="care_relationships",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="carerelationship",
            index=models.Index(
                condition=models.Q(("user__isnull", False)),
                fields=["user"],
                name="care_rel_user_idx",
            ),
        ),
    ]
