"""R8: a dose is counted against its order in the order's unit, and a dose
that is not the ordered one is kept as confirmed by the nurse.

The formulary learns what one stock unit holds, read from the strength where
it says it plainly (``500 mg`` a tablet, ``10 mg/mL, 4 mL`` an ampoule).
Doses given before are counted in the order's unit where the medicine's
content makes that exact, else as the one dose the order names (no mismatch
was assessed for them, so none is recorded).
"""

from django.db import migrations, models
from django.db.models import Q

from acute.clinical import dosing


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    Medicine = apps.get_model("medicine_cabinet", "Medicine")
    Administration = apps.get_model("medicine_cabinet", "Administration")
    for medicine in Medicine.objects.all().iterator():
        content = dosing.strength_content(medicine.strength, medicine.unit)
        if content is not None:
            medicine.amount_per_unit, medicine.amount_unit = content
            medicine.save(update_fields=["amount_per_unit", "amount_unit"])
    given = Administration.objects.select_related("medicine", "order")
    for administration in given.iterator():
        order, medicine = administration.order, administration.medicine
        amount = dosing.amount_in_unit(
            quantity=administration.quantity,
            stock_unit=medicine.unit,
            amount_per_unit=medicine.amount_per_unit,
            amount_unit=medicine.amount_unit,
            unit=order.dose_unit,
        )
        administration.order_amount = amount if amount is not None else order.dose
        administration.order_unit = order.dose_unit
        administration.save(update_fields=["order_amount", "order_unit"])


class Migration(migrations.Migration):
    dependencies = [
        ("clinical", "0006_medication_order_limit"),
        ("medicine_cabinet", "0002_movement_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="medicine",
            name="amount_per_unit",
            field=models.DecimalField(
                blank=True,
                decimal_places=6,
                help_text="Active substance in one stock unit, e.g. 500 for a 500 mg tablet.",
                max_digits=12,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="medicine",
            name="amount_unit",
            field=models.CharField(
                blank=True, help_text="The unit of amount_per_unit, e.g. mg.", max_length=20
            ),
        ),
        migrations.AddField(
            model_name="administration",
            name="order_amount",
            field=models.DecimalField(decimal_places=6, max_digits=18, null=True),
        ),
        migrations.AddField(
            model_name="administration",
            name="order_unit",
            field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="administration",
            name="dose_mismatch",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "As ordered"),
                    ("amount", "Another amount than ordered"),
                    ("unit", "Not comparable with the ordered unit"),
                ],
                default="",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="administration",
            name="mismatch_confirmed",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="administration",
            name="order_amount",
            field=models.DecimalField(decimal_places=6, max_digits=18),
        ),
        migrations.AddConstraint(
            model_name="medicine",
            constraint=models.CheckConstraint(
                condition=(Q(amount_per_unit__isnull=True) & Q(amount_unit=""))
                | (Q(amount_per_unit__gt=0) & ~Q(amount_unit="")),
                name="medicine_amount_per_unit_complete",
            ),
        ),
        migrations.AddConstraint(
            model_name="administration",
            constraint=models.CheckConstraint(
                condition=Q(order_amount__gt=0), name="administration_order_amount_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="administration",
            constraint=models.CheckConstraint(
                condition=(Q(dose_mismatch="") & Q(mismatch_confirmed=False))
                | (~Q(dose_mismatch="") & Q(mismatch_confirmed=True)),
                name="administration_mismatch_confirmed",
            ),
        ),
    ]
