"""The partners the platform exchanges messages with: one adapter per kind,
each declared in its own package (:mod:`integrations.adapters`)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from django.core.exceptions import ImproperlyConfigured

from integrations.adapters import PartnerAdapter
from integrations.gp.adapter import GeneralPractice
from integrations.helpline_1813.adapter import Helpline1813
from integrations.home_nursing.adapter import HomeNursing
from integrations.hospital.adapter import Hospital
from integrations.models import Partner
from integrations.municipal_records.adapter import MunicipalRecords

ADAPTERS: Mapping[str, type[PartnerAdapter]] = MappingProxyType(
    {
        adapter.kind: adapter
        for adapter in (Helpline1813, Hospital, GeneralPractice, HomeNursing, MunicipalRecords)
    }
)
# Every kind a Partner row may have is spoken for, so a lookup cannot miss.
if set(ADAPTERS) != set(Partner.Kind.values):
    raise ImproperlyConfigured("integrations.partners: one adapter per Partner.Kind")


def adapter_for(kind: str) -> type[PartnerAdapter]:
    return ADAPTERS[kind]


def kinds_sent(event: str) -> list[str]:
    """The kinds of partner the platform sends ``event`` to."""
    return [kind for kind, adapter in ADAPTERS.items() if event in adapter.sends]
