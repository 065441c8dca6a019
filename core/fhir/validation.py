"""Validation of FHIR R4B input against the ``fhir.resources`` models, for
every door that takes FHIR (the shared record, referrals, signed messages).

The models raise pydantic's ValidationError for most wrong input, but some
shapes (a contained resource or a Bundle entry of no known type, a list where
a resourceType should be) surface as TypeError, KeyError or ValueError from
deep inside them. Whatever they raise on a client's body is the client's
mistake: one :class:`FHIRInvalid` with the place and the reason, never the
values sent.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class FHIRInvalid(Exception):
    """``where``: the first wrong element's path (empty for the resource as a
    whole); ``problems``: up to five places with their reasons."""

    def __init__(self, where: str, problems: str):
        super().__init__(problems)
        self.where = where
        self.problems = problems


def fhir_validate(model: type[Model], data: Any) -> Model:
    """``data`` as an instance of ``model``, or :class:`FHIRInvalid`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()[:5]
        places = [".".join(str(p) for p in e.get("loc", ())) for e in errors]
        # Pydantic's message names the field and the rule, never the value.
        problems = "; ".join(
            f"{place or 'resource'}: {e.get('msg', 'invalid')}"
            for place, e in zip(places, errors, strict=True)
        )
        raise FHIRInvalid(places[0] if places else "", problems) from None
    except (TypeError, ValueError, KeyError, AttributeError, LookupError):
        raise FHIRInvalid("", "an element has the wrong shape") from None
