"""JSON for ``/api/``: REST framework's, with every time in UTC.

A time a client sent is kept in the zone it was parsed into (Copenhagen) until
it is read back from the database; written out as it is, a time before 1894
would carry Copenhagen's local mean time (``+00:50:20``), which is no valid
RFC 3339 offset. The API answers in UTC (``...Z``) whatever the time's zone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder


class UtcJSONEncoder(JSONEncoder):
    def default(self, obj: Any) -> Any:
        if isinstance(obj, dt.datetime) and obj.utcoffset() is not None:
            obj = obj.astimezone(dt.UTC)
        return super().default(obj)


class ApiJSONRenderer(JSONRenderer):
    encoder_class = UtcJSONEncoder
