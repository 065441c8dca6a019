"""A deadline warning's ``referral_id`` index goes: ``acute_warning_one_per_kind``
(referral, kind) leads with it and serves every look-up by referral (the
board's warnings of a referral, R12's hold and resume, the PROTECT check).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("acute", "0014_referral_withdrawn"),
    ]

    operations = [
        migrations.AlterField(
            model_name="deadlinewarning",
            name="referral",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="warnings",
                to="acute.referral",
            ),
        ),
    ]
