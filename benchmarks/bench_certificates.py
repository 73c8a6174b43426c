"""Certificate generation: issuing (signed, audited) and the PDF, per certificate.

On a throw-away database (test_<name>) with the demo regions, CERT_LEARNERS learners (200)
each with a complete year recorded in the ledger beforehand (not timed); then, per learner,
`certificate_issue` and `certificate_pdf` as the download does, timed together and apart. A
name with a rare character (outside GB 2312) takes the whole-font path: timed on its own.
The font's common-character copy is made before timing (CERTIFICATE_FONT_CACHE, var/fonts
by default, is kept between runs); the first PDF of the process, which reads the font, is
left out as a warm-up like the first request of a web worker. The machine is shared, so
the CPU time of the process is given beside the wall-clock time.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup() -> object:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpe.settings")
    os.environ["CPE_VAR_DIR"] = tempfile.mkdtemp(prefix="cpe-bench-")
    os.environ.setdefault("CERTIFICATE_FONT_CACHE", str(ROOT / "var" / "fonts"))
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()
    from django.test.utils import setup_databases

    return setup_databases(verbosity=0, interactive=False)


def _figure(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms   (n={len(ordered)})"


def run() -> list[tuple[str, str]]:
    databases = _setup()
    try:
        return _measure()
    finally:
        from django.test.utils import teardown_databases

        teardown_databases(databases, verbosity=0)


def _measure() -> list[tuple[str, str]]:
    from django.utils import timezone

    from cpe.certificates.fonts import common_font
    from cpe.certificates.pdf import certificate_pdf
    from cpe.certificates.services import certificate_issue
    from cpe.core.services import Actor
    from cpe.credits.services import credit_record
    from cpe.regions import demo as regions_demo
    from cpe.regions.models import Region
    from cpe.registry.models import Learner
    from cpe.registry.services import learner_collect
    from cpe.registry.testing import learner_details, make_id_number

    actor = Actor.for_system("bench")
    regions_demo.seed(actor)
    district = Region.objects.get(code="420102")
    year = timezone.localdate().year
    count = int(os.environ.get("CERT_LEARNERS", "200"))
    started = time.perf_counter()
    common_font()
    font_seconds = time.perf_counter() - started

    learners = []
    for sequence in range(1, count + 12):
        learner = learner_collect(
            actor=actor,
            district=district,
            details=learner_details(
                id_number=make_id_number(district.code, sequence=sequence),
                mobile=f"1390000{sequence:04d}",
                qualification_year=year - 1,
            ),
        )
        for category, credits in (("professional", 60), ("public", 30)):
            credit_record(
                actor=actor,
                learner=learner,
                year=year,
                category=category,
                credits=credits,
                source="face_to_face",
            )
        learners.append(learner)
    rare = learners[count:]
    Learner.objects.filter(pk__in=[learner.pk for learner in rare]).update(name="王䶮")

    certificate_pdf(certificate_issue(actor=actor, learner=learners[0], year=year))  # warm-up
    both, both_cpu, issue_only, pdf_only = [], [], [], []
    for learner in learners[1:count]:
        cpu = time.process_time()
        started = time.perf_counter()
        certificate = certificate_issue(actor=actor, learner=learner, year=year)
        issued = time.perf_counter()
        certificate_pdf(certificate)
        done = time.perf_counter()
        both_cpu.append((time.process_time() - cpu) * 1000)
        both.append((done - started) * 1000)
        issue_only.append((issued - started) * 1000)
        pdf_only.append((done - issued) * 1000)
    english = []
    for learner in learners[1:41]:
        certificate = certificate_issue(actor=actor, learner=learner, year=year)  # already issued
        started = time.perf_counter()
        certificate_pdf(certificate, language="en")
        english.append((time.perf_counter() - started) * 1000)
    rare_times = []
    for learner in rare:
        learner.refresh_from_db()
        started = time.perf_counter()
        certificate_pdf(certificate_issue(actor=actor, learner=learner, year=year))
        rare_times.append((time.perf_counter() - started) * 1000)
    return [
        ("issue + PDF (Chinese), per certificate", _figure(both)),
        ("  the same, CPU time of this process", _figure(both_cpu)),
        ("  certificate_issue alone", _figure(issue_only)),
        ("  certificate_pdf alone", _figure(pdf_only)),
        ("PDF in English (issued before)", _figure(english)),
        ("issue + PDF, a rare character in the name", _figure(rare_times)),
        ("making the common-character font (once)", f"{font_seconds:.1f} s"),
    ]
