"""Test data for learner records (imported by tests, never by the application)."""

from __future__ import annotations

from cpe.registry.identity import id_check_character
from cpe.registry.services import LearnerDetails

ID_NUMBER = "42010219800101159X"  # valid: region 420102, born 1980-01-01, male


def make_id_number(region: str = "420102", born: str = "19800101", sequence: int = 1) -> str:
    """A valid 18-character ID number for a region, a birth date and a sequence number."""
    first17 = f"{region}{born}{sequence:03d}"
    return first17 + id_check_character(first17)


def learner_details(**changes: object) -> LearnerDetails:
    values: dict[str, object] = {
        "id_number": ID_NUMBER,
        "name": "张晓梅",
        "mobile": "13800138000",
        "employer_name": "武汉市某某会计师事务所",
        "qualification_level": "junior",
        "qualification_year": 2020,
        "employer_uscc": "91350100M000100Y43",
    }
    values.update(changes)
    return LearnerDetails(**values)  # type: ignore[arg-type]


# Smallest files that are what they say they are, for upload tests.
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x9a\xa0\xa0"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
