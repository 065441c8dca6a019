"""R8: an order carries what it allows in numbers — doses a day, days, and the
total in its dose unit — so the cabinet can refuse a dose beyond it.

Orders stored before get the schedule their frequency and duration state in
words (``3 times daily`` for ``5 days``: 3 a day for 5 days, 15 doses in all);
an order whose words do not state its length allows the one dose it names,
the safe reading of an order that cannot be counted.
"""

from django.db import migrations, models
from django.db.models import ExpressionWrapper, F, Q

from acute.clinical import dosing


def fill_limits(apps, schema_editor):  # type: ignore[no-untyped-def]
    MedicationOrder = apps.get_model("clinical", "MedicationOrder")
    for order in MedicationOrder.objects.only("dose", "frequency", "duration").iterator():
        said = dosing.schedule_from_text(order.frequency, order.duration)
        order.doses_per_day = said.doses_per_day
        order.duration_days = said.duration_days
        order.total_quantity = dosing.schedule_total(
            dose=order.dose, doses_per_day=said.doses_per_day, duration_days=said.duration_days
        )
        order.save(update_fields=["doses_per_day", "duration_days", "total_quantity"])


class Migration(migrations.Migration):
    dependencies = [
        ("clinical", "0005_medication_order_cancel"),
    ]

    operations = [
        migrations.AddField(
            model_name="medicationorder",
            name="doses_per_day",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="At most this many doses in any 24 hours; empty for a single dose.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="medicationorder",
            name="duration_days",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Days from the order during which doses may be given.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="medicationorder",
            name="total_quantity",
            field=models.DecimalField(decimal_places=3, max_digits=12, null=True),
        ),
        migrations.RunPython(fill_limits, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="medicationorder",
            name="total_quantity",
            field=models.DecimalField(
                decimal_places=3,
                help_text="In the dose unit: the most that may be given against this order in all.",
                max_digits=12,
            ),
        ),
        migrations.AddConstraint(
            model_name="medicationorder",
            constraint=models.CheckConstraint(
                condition=Q(total_quantity__gte=F("dose")),
                name="medorder_total_covers_one_dose",
            ),
        ),
        migrations.AddConstraint(
            model_name="medicationorder",
            constraint=models.CheckConstraint(
                condition=Q(doses_per_day__isnull=True)
                | Q(duration_days__isnull=True)
                | Q(
                    total_quantity__lte=ExpressionWrapper(
                        F("dose") * F("doses_per_day") * F("duration_days"),
                        output_field=models.DecimalField(),
                    )
                ),
                name="medorder_total_within_schedule",
            ),
        ),
        migrations.AddConstraint(
            model_name="medicationorder",
            constraint=models.CheckConstraint(
                condition=(Q(doses_per_day__isnull=True) | Q(doses_per_day__gte=1))
                & (Q(duration_days__isnull=True) | Q(duration_days__gte=1)),
                name="medorder_schedule_positive",
            ),
        ),
    ]
