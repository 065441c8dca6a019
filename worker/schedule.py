"""The beat schedule, in code. Each entry says what it is for.

| job | every | why |
|---|---|---|
| ``core.tokens_prune`` | hour | expired API tokens are deleted a day after expiry |
"""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "tokens-prune": {"task": "core.tokens_prune", "schedule": 3600.0},
}
