"""Password hashing tuned for a sign-in rush: Argon2id with a modest, fixed memory cost."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoArgon2PasswordHasher


class Argon2PasswordHasher(DjangoArgon2PasswordHasher):
    """Argon2id at OWASP's first recommended setting: 19 MiB, two passes, one lane.

    Django's default asks 100 MiB and eight lanes per hash, so a few dozen learners signing in
    at once on 30 December would need gigabytes. Hashes made with other parameters (Django's
    defaults included) still verify, and are re-hashed with these at the next sign-in.
    """

    memory_cost = 19 * 1024  # KiB
    time_cost = 2
    parallelism = 1
