"""A directive's recipients protect the users and organisations they name.

The plain many-to-many links become explicit link models whose foreign keys
to the user and the organisation are ``PROTECT``: deleting someone a
citizen's refusal or consent names raises instead of silently dropping the
link (and widening the refusal). The link models adopt the tables Django
created for the plain links, as they are (same table, columns, unique
constraint and indexes; ``on_delete`` lives in Django, not in the database),
so no row is copied or lost and the platform's role keeps its rights on them.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0006_record_psychiatric_code_every_sks_system"),
        ("core", "0008_organisation_kinds_visitation_home_care_rehabilitation"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="ConsentRecipientOrganisation",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "directive",
                            models.ForeignKey(
                                db_column="consentdirective_id",
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="consent.consentdirective",
                            ),
                        ),
                        (
                            "organisation",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="core.organisation",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "consent_consentdirective_recipient_organisations",
                        "unique_together": {("directive", "organisation")},
                    },
                ),
                migrations.AlterField(
                    model_name="consentdirective",
                    name="recipient_organisations",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="+",
                        through="consent.ConsentRecipientOrganisation",
                        to="core.organisation",
                    ),
                ),
                migrations.CreateModel(
                    name="ConsentRecipientUser",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "directive",
                            models.ForeignKey(
                                db_column="consentdirective_id",
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="consent.consentdirective",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "consent_consentdirective_recipient_users",
                        "unique_together": {("directive", "user")},
                    },
                ),
                migrations.AlterField(
                    model_name="consentdirective",
                    name="recipient_users",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="+",
                        through="consent.ConsentRecipientUser",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
