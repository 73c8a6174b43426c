"""Registry pages: the officer's learner console and the learner's sign-in."""

from __future__ import annotations
