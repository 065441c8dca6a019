"""Seed the test catalogue: R7's predefined tests and procedures, and the
point-of-care tests that need a delegation.

Reference intervals are adult intervals in the style of Danish regional
laboratory handbooks; critical limits are the usual "call the physician now"
limits; plausibility bounds refuse values that cannot be real. All of it is
data: change it in the admin or with a fixture (``docs/clinical.md``).
"""

from decimal import Decimal as D

from django.db import migrations

NPU = "urn:oid:1.2.208.176.2.1"
LOCAL = "urn:tvaerakut:clinical-task"

ENTRIES = [
    # code, display, unit, unit_display, decimals, ref (low, high), critical (low, high),
    # plausible (low, high), predefined, extra
    dict(
        code="NPU22089",
        display="Glucose; capillary blood plasma",
        unit="mmol/L",
        unit_display="mmol/L",
        decimals=1,
        reference_low=D("4.0"),
        reference_high=D("7.8"),
        critical_low=D("2.5"),
        critical_high=D("25"),
        plausible_low=D("0.5"),
        plausible_high=D("60"),
        predefined=True,
    ),
    dict(
        code="NPU21531",
        display="Glucose; venous blood plasma",
        unit="mmol/L",
        unit_display="mmol/L",
        decimals=1,
        reference_low=D("4.0"),
        reference_high=D("7.8"),
        critical_low=D("2.5"),
        critical_high=D("25"),
        plausible_low=D("0.5"),
        plausible_high=D("60"),
        predefined=True,
    ),
    dict(
        code="NPU19748",
        display="C-reactive protein (CRP); plasma",
        unit="mg/L",
        unit_display="mg/L",
        decimals=0,
        reference_low=None,
        reference_high=D("8"),
        critical_low=None,
        critical_high=D("300"),
        plausible_low=D("0"),
        plausible_high=D("1000"),
        predefined=True,
    ),
    dict(
        code="NPU03429",
        display="Sodium; plasma",
        unit="mmol/L",
        unit_display="mmol/L",
        decimals=0,
        reference_low=D("137"),
        reference_high=D("145"),
        critical_low=D("120"),
        critical_high=D("160"),
        plausible_low=D("90"),
        plausible_high=D("200"),
        predefined=True,
    ),
    dict(
        code="NPU03230",
        display="Potassium; plasma",
        unit="mmol/L",
        unit_display="mmol/L",
        decimals=1,
        reference_low=D("3.5"),
        reference_high=D("4.4"),
        critical_low=D("2.5"),
        critical_high=D("6.5"),
        plausible_low=D("1.0"),
        plausible_high=D("10.0"),
        predefined=True,
    ),
    dict(
        code="NPU18016",
        display="Creatininium; plasma",
        unit="umol/L",
        unit_display="µmol/L",
        decimals=0,
        reference_low=D("45"),
        reference_high=D("105"),
        reference_low_female=D("45"),
        reference_high_female=D("90"),
        reference_low_male=D("60"),
        reference_high_male=D("105"),
        critical_low=None,
        critical_high=D("600"),
        plausible_low=D("10"),
        plausible_high=D("3000"),
        predefined=True,
    ),
    dict(
        code="DNK35302",
        display="eGFR (CKD-EPI 2021); creatinine-based",
        unit="mL/min/{1.73_m2}",
        unit_display="mL/min/1.73 m²",
        decimals=0,
        reference_low=D("60"),
        reference_high=None,
        critical_low=D("15"),
        critical_high=None,
        plausible_low=D("1"),
        plausible_high=D("250"),
        predefined=True,
        derivation="egfr_ckd_epi_2021",
        derived_from_code="NPU18016",
    ),
    # Point-of-care tests outside R7: a delegation is needed.
    dict(
        code="NPU02319",
        display="Haemoglobin(Fe); blood",
        unit="mmol/L",
        unit_display="mmol/L",
        decimals=1,
        reference_low=D("7.3"),
        reference_high=D("10.5"),
        reference_low_female=D("7.3"),
        reference_high_female=D("9.5"),
        reference_low_male=D("8.3"),
        reference_high_male=D("10.5"),
        critical_low=D("4.0"),
        critical_high=D("13.0"),
        plausible_low=D("1.0"),
        plausible_high=D("16.0"),
        predefined=False,
    ),
    dict(
        code="NPU01685",
        display="Coagulation factor II+VII+X (INR); plasma",
        unit="{INR}",
        unit_display="INR",
        decimals=1,
        reference_low=D("0.8"),
        reference_high=D("1.2"),
        critical_low=None,
        critical_high=D("5.0"),
        plausible_low=D("0.5"),
        plausible_high=D("15"),
        predefined=False,
    ),
]

PROCEDURES = [
    dict(code="urinary-catheter", display="Urinary catheter placement", predefined=True),
    dict(code="feeding-tube", display="Feeding tube placement", predefined=True),
    dict(code="urine-dipstick", display="Urine dipstick test", predefined=False),
]


def seed(apps, schema_editor):
    TestDefinition = apps.get_model("clinical", "TestDefinition")
    by_code = {}
    for entry in ENTRIES:
        fields = dict(entry)
        code = fields.pop("code")
        derived_from_code = fields.pop("derived_from_code", None)
        if derived_from_code:
            fields["derived_from"] = by_code[derived_from_code]
        obj, _ = TestDefinition.objects.update_or_create(
            code=code, defaults={"kind": "observation", "system": NPU, **fields}
        )
        by_code[code] = obj
    for entry in PROCEDURES:
        fields = dict(entry)
        code = fields.pop("code")
        TestDefinition.objects.update_or_create(
            code=code, defaults={"kind": "procedure", "system": LOCAL, "unit": "", **fields}
        )


class Migration(migrations.Migration):
    dependencies = [("clinical", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
