"""The tests' password hasher: Argon2, as in production, with the cheapest
parameters. Production's cost is there to slow an attacker down; in the
tests it would only slow every log-in down (about 0.16 s each here). A
process started with the production settings verifies these hashes too
(same algorithm), and upgrades them to its own cost on the first log-in."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 8
    parallelism = 1
