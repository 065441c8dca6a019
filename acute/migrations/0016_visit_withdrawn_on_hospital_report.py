"""A visit withdrawn on the hospital's report says so: the citizen was
admitted, or has died (R12), not withdrawn by the coordinator."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("acute", "0015_warning_referral_index_in_unique"),
    ]

    operations = [
        migrations.AlterField(
            model_name="visit",
            name="cancel_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("declined", "Declined by the nurse"),
                    ("no_answer", "No answer in time"),
                    ("reassigned", "Reassigned by the coordinator"),
                    ("withdrawn", "Withdrawn by the coordinator"),
                    ("episode_closed", "The episode was closed"),
                    ("called_off", "The referral was withdrawn"),
                    ("admitted", "Withdrawn: the citizen was admitted to hospital"),
                    ("deceased", "Withdrawn: the citizen has died"),
                ],
                max_length=16,
            ),
        ),
    ]
