"""This database's log named once at random, so a witness can tell two
databases' logs apart where they share an origin and a key (a local run)."""

import django.utils.timezone
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0010_tile_pruning_and_latest_checkpoint'),
    ]

    operations = [
        migrations.CreateModel(
            name='LogInstance',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ('uid', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
            ],
            options={
                'db_table': 'audit_log_instance',
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='audit_log_instance_one')],
            },
        ),
    ]
