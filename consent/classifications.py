"""The diagnosis classifications R2 judges, each recognised by its system.

A code means something only in its system: F70 is conjunctivitis in ICPC-2
(chapter F is the eye) and F32 a depression in ICD-10 (chapter F, mental and
behavioural disorders). So the record never judges a code by its first letter
alone, and a code whose system it cannot name is not taken on trust.

What is psychiatric, per classification:

- **ICD-10** and every national form of it (WHO's, ICD-10-CM, -NL, -DE/-GM,
  the Danish extensions of DK-core): chapter F, and an SKS ``DF…`` sent
  under an ICD-10 system. A code not shaped as one (a chapter's roman numeral)
  cannot be judged and is refused.
- **SKS** (*Sundhedsvæsenets Klassifikations System*), which Danish hospitals
  code diagnoses in: the diagnosis register is ICD-10 with a leading D, so
  ``DF…`` is chapter F. Under the SKS root other letters are other registers
  (``F…`` there is functioning, ICF; ``K…`` operations) and are not diagnoses.
  The diagnosis sub-system (SKS-D, DK-core's ``Condition.code`` slice) holds
  diagnoses only; every other system under the SKS root
  (``urn:oid:1.2.208.176.2.4.<n>``) is judged as SKS, so a ``DF…`` sent under
  any of them is chapter F.
- **ICPC-2**, the GPs' classification: chapter P (psychological). ICPC-2
  chapter F is the eye and is somatic. A code not shaped as one cannot be
  judged and is refused.
- **ICD-11**: chapter 06 (codes ``6…``). Judged wherever it appears, though a
  somatic diagnosis is still carried in ICD-10, SKS or ICPC-2; a code not
  shaped as one is refused.

This module imports nothing of the platform: the model's database constraint
and the FHIR door both read it, so they cannot disagree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, gettext_noop

# The canonical systems the platform writes itself.
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
SKS_SYSTEM = "urn:oid:1.2.208.176.2.4"
SKS_DIAGNOSIS_SYSTEM = "urn:oid:1.2.208.176.2.4.12"
ICPC2_SYSTEM = "http://hl7.org/fhir/sid/icpc-2"


@dataclass(frozen=True)
class Classification:
    """One classification and how to tell its psychiatric codes.

    ``systems`` are normalised system URIs (see :func:`system_key`),
    ``prefixes`` cover families of URIs and ``pattern`` a URI's last segment,
    so national forms nobody listed are recognised too. ``psychiatric`` and
    ``diagnosis`` match a code (case-insensitive, leading spaces allowed, so
    the database constraint can use the same expression).
    ``psychiatric_label`` is the English name of the psychiatric chapter (the
    error's English message); a reader sees :attr:`psychiatric_label_text`."""

    name: str
    psychiatric_label: str
    systems: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    pattern: str = ""
    excluded: str = ""
    psychiatric: str = ""
    # Which codes of this system are diagnoses a somatic-diagnosis entry may be
    # carried in; empty when the system is only judged, never the diagnosis.
    diagnosis: str = ""
    # What a code of this system looks like; anything else cannot be judged.
    valid: str = ""

    @property
    def psychiatric_label_text(self) -> Promise:
        """The psychiatric chapter's name in the reader's language (the
        classification's official Danish chapter name on a Danish answer)."""
        return gettext_lazy(self.psychiatric_label)

    def recognises(self, key: str) -> bool:
        if self.excluded and re.search(self.excluded, key):
            return False
        return (
            key in self.systems
            or key.startswith(self.prefixes)
            or bool(self.pattern and re.search(self.pattern, key))
        )

    def system_q(self) -> Q:
        """:meth:`recognises` as a database condition on ``code_system``."""
        q = Q(code_system__in=self.systems) if self.systems else Q()
        for prefix in self.prefixes:
            q |= Q(code_system__startswith=prefix)
        if self.pattern:
            q |= Q(code_system__iregex=self.pattern)
        if self.excluded:
            q &= ~Q(code_system__iregex=self.excluded)
        return q


ICD10 = Classification(
    name="ICD-10",
    psychiatric_label=gettext_noop("ICD-10 chapter F (mental and behavioural disorders)"),
    systems=(
        ICD10_SYSTEM,
        "urn:oid:2.16.840.1.113883.6.3",  # ICD-10
        "urn:oid:2.16.840.1.113883.6.90",  # ICD-10-CM
        "http://fhir.de/codesystem/bfarm/icd-10-gm",
        "http://fhir.de/codesystem/dimdi/icd-10-gm",
    ),
    prefixes=(
        "http://hl7.org/fhir/sid/icd-10-",  # national forms: -cm, -nl, -de, -ca …
        "urn:oid:2.16.840.1.113883.6.3.",  # national forms registered under ICD-10's OID
        "http://id.who.int/icd/release/10",
    ),
    # Any other URI whose last segment names ICD-10 (icd10-danish-extensions …).
    pattern=r"[/:]icd-?10([-_.][a-z0-9-]*)?$",
    # ICD-10-PCS codes procedures; its section F is rehabilitation and audiology.
    excluded=r"icd-?10-?pcs",
    # An SKS code (DF…) sent under an ICD-10 system is chapter F all the same.
    psychiatric=r"^\s*D?\s*F",
    diagnosis=r"^\s*[A-Z]",
    # A letter and a digit or letter (E11.9, F32.A, the Danish-only UB…); not
    # a chapter's roman numeral (V is the psychiatric chapter's).
    valid=r"^(?![IVX]+$)[A-Z][0-9A-Z]",
)
# An SKS code: its register's letter, then letters and digits (DF321, KABC10).
SKS_VALID = r"^[A-Z][0-9A-Z]"
SKS_DIAGNOSES = Classification(
    name="SKS",
    psychiatric_label=gettext_noop("SKS diagnosis group DF (ICD-10 chapter F)"),
    systems=(SKS_DIAGNOSIS_SYSTEM,),
    # Every code here is a diagnosis; one sent without its D is read as ICD-10.
    psychiatric=r"^\s*D?\s*F",
    diagnosis=r"^\s*[A-Z]",
    valid=SKS_VALID,
)
SKS = Classification(
    name="SKS",
    psychiatric_label=gettext_noop("SKS diagnosis group DF (ICD-10 chapter F)"),
    systems=(SKS_SYSTEM,),
    # Every sub-system under the SKS root (urn:oid:1.2.208.176.2.4.<n>) is SKS
    # too: a DF… sent under one is chapter F whichever register it names.
    prefixes=(SKS_SYSTEM + ".",),
    psychiatric=r"^\s*D\s*F",
    diagnosis=r"^\s*D\s*[A-Z]",
    valid=SKS_VALID,
)
ICPC2 = Classification(
    name="ICPC-2",
    psychiatric_label=gettext_noop("ICPC-2 chapter P (psychological)"),
    systems=(
        ICPC2_SYSTEM,
        "urn:oid:2.16.840.1.113883.6.139",  # ICPC-2
        "urn:oid:1.2.208.176.2.31",  # ICPC-2-DK (DK-core)
    ),
    # icpc-2, icpc2e-dk, KiAP's icpckoder …
    pattern=r"[/:]icpc[^/:]*$",
    psychiatric=r"^\s*P",
    diagnosis=r"^\s*[A-Z]",
    # A chapter's letter and a digit (P76, K86.01), or a process code (-31);
    # not a look-alike letter (the Cyrillic Er, U+0420) or a code behind punctuation.
    valid=r"^(?:[A-Z][0-9]|-[0-9])",
)
ICD11 = Classification(
    name="ICD-11",
    psychiatric_label=gettext_noop(
        "ICD-11 chapter 06 (mental, behavioural or neurodevelopmental disorders)"
    ),
    prefixes=("http://id.who.int/icd/release/11", "http://id.who.int/icd11"),
    pattern=r"[/:]icd-?11([-_.][a-z0-9-]*)?$",
    psychiatric=r"^\s*6",
    # A stem or extension code: its chapter (a digit or letter), a letter, a
    # digit (6A70, BA00, XS25); not a chapter's number (06).
    valid=r"^[0-9A-Z][A-Z][0-9]",
)

# Most specific first: SKS-D's OID is one of the SKS root's sub-systems.
CLASSIFICATIONS = (SKS_DIAGNOSES, SKS, ICD10, ICPC2, ICD11)


def system_key(system: str) -> str:
    """A system URI as the platform compares it: no surrounding spaces,
    version (a canonical's ``|2019``) or trailing slash, lower case, ``https``
    read as ``http``, and a bare OID given its ``urn:oid:``."""
    key = system.strip().partition("|")[0].strip().rstrip("/").lower()
    if key.startswith("https://"):
        key = "http://" + key.removeprefix("https://")
    if re.fullmatch(r"[0-9]+(\.[0-9]+)+", key):
        key = f"urn:oid:{key}"
    return key


def classification_of(system: str) -> Classification | None:
    key = system_key(system)
    return next((c for c in CLASSIFICATIONS if c.recognises(key)), None)


def normalised_code(code: str) -> str:
    """A classification's code as stored and judged: upper case, no spaces,
    and no character that only looks like a letter or hides between them — a
    full-width F is F (NFKC), a zero-width space or soft hyphen pasted from a
    document is dropped — so the code is judged as the reader sees it."""
    folded = unicodedata.normalize("NFKC", code)
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return re.sub(r"\s+", "", visible).upper()


def is_psychiatric(classification: Classification, code: str) -> bool:
    return bool(re.search(classification.psychiatric, code, re.IGNORECASE))


def is_valid_code(classification: Classification, code: str) -> bool:
    return not classification.valid or bool(re.search(classification.valid, code, re.IGNORECASE))


def is_diagnosis_code(classification: Classification, code: str) -> bool:
    return bool(
        classification.diagnosis and re.search(classification.diagnosis, code, re.IGNORECASE)
    )


def psychiatric_code_q() -> Q:
    """A stored main code that is psychiatric, judged by its stored system —
    the database's own check of R2 (``record_no_psychiatric_diagnosis``)."""
    q = Q()
    for classification in CLASSIFICATIONS:
        q |= classification.system_q() & Q(code__iregex=classification.psychiatric)
    return q


# R2 on free text that leaves the acute function or enters the shared record:
# a psychiatric diagnosis written as a code — ICD-10 chapter F (``F32``,
# ``F32.1``, ``F32.A``, ``F320``) or its SKS form (``DF32``, ``DF321``,
# ``DF20.0``) — as a token of its own, in any case. The code is an ``F``
# (optionally after SKS's ``D``), two digits (F00 to F99 is the whole chapter),
# then optionally a subdivision: up to three digits and a letter, with or
# without ICD-10's dot, or a dot and a letter (ICD-10-CM's ``F32.A``), so
# ``F320X`` is read as one (F32.0 with a letter, as SKS extends its codes).
# Its own token: neither a letter, a digit nor ``_`` on either side, so a
# longer word or number (``AF321``, ``F3210000``, ``F32mg``, ``38F``) is not
# read as one; a sentence's full stop, a comma, a hyphen or a bracket after it
# still ends it. The code is written whole: ``F 32`` and ``F-32`` are not one.
# ``F`` alone or before a space is never a code (``38 F``, ``Fx 32 mg``, a
# Fahrenheit temperature), nor are times and numbers (``kl. 14.30``,
# ``Temp 38,2``). Words are not judged: "depression" is not a code.
PSYCHIATRIC_CODE_IN_TEXT = re.compile(
    r"(?<!\w)D?F[0-9]{2}(?:\.?[0-9]{1,3}[A-Z]?|\.[A-Z])?(?!\w)",
    re.IGNORECASE,
)


def psychiatric_code_in_text(text: str) -> str | None:
    """The first psychiatric diagnosis code written in ``text``
    (:data:`PSYCHIATRIC_CODE_IN_TEXT`), as written, or None. Read as the
    reader sees it: a full-width letter is the letter (NFKC), and a zero-width
    space or soft hyphen pasted between the characters does not hide it."""
    folded = unicodedata.normalize("NFKC", text)
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    found = PSYCHIATRIC_CODE_IN_TEXT.search(visible)
    return found.group(0) if found else None
