from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from cpe.public.markdown import ALLOWED_TAGS, render_markdown

ATTACKS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<svg onload=alert(1)>",
    '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
]

DANGEROUS = re.compile(r"<script|<iframe|<svg|<img|\son\w+\s*=|javascript:|data:|style=", re.I)


def test_ordinary_markdown_becomes_html():
    html = render_markdown("**重要** 通知\n\n- 第一\n- 第二\n\n[帮助](/help/)")
    assert "<strong>重要</strong>" in html
    assert "<li>第一</li>" in html
    assert 'href="/help/"' in html


def test_known_attacks_are_removed():
    for attack in ATTACKS:
        assert not DANGEROUS.search(render_markdown(attack)), attack


def test_links_cannot_open_the_platform_to_the_target_page():
    html = render_markdown("[外部](https://example.com/)")
    assert 'rel="noopener noreferrer nofollow"' in html


class _Elements(HTMLParser):
    """The tags and attributes a browser would really build from the HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]


def _elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *ATTACKS,
                "**b**",
                "[a](",
                ")",
                "<",
                ">",
                '"',
                "'",
                "javascript",
                ":",
                "\n",
                "`",
                "文字",
                "on",
                "error=",
                "&#106;",
                "&colon;",
                " ",
                "\t",
            ]
        )
        | st.text(max_size=20),
        max_size=12,
    ).map("".join)
)
def test_no_combination_of_markdown_and_html_gets_a_script_through(text):
    found = _elements(render_markdown(text))
    assert set(found.tags) <= ALLOWED_TAGS
    for name, value in found.attributes:
        assert not name.startswith("on"), name
        assert name in {"href", "title", "align", "rel"}, name
        if name == "href":
            scheme = re.sub(r"[\x00-\x20]", "", value).lower()
            assert not scheme.startswith(("javascript:", "data:", "vbscript:")), value
