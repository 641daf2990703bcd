"""What GitHub shows of datacanary's markdown when names and values come from a hostile (or unlucky)
pull request: rendered with cmark-gfm, GitHub's own parser, raw HTML kept as GitHub's parser keeps it
before its allowlist. Any text stays one table cell of plain text (or one code span): no HTML, link,
image, emphasis, @mention, #reference, cell split or line break that would hide the rest of a comment."""

from __future__ import annotations

import html
import html.parser
import re
import unicodedata
from typing import Any

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hypothesis import given
from hypothesis import strategies as st

from app.report.env import code, md_escape, mermaid_label

HOSTILE = [
    'y` <img src="https://evil.example/p.png"> <a href="https://evil.example/a">Approve</a> `z',
    "x\n<!--",
    "on hold\r<!--",
    "@octocat @acme/admins fixes #123",
    "![](https://evil.example/x.png) [click](javascript:alert(1)) **bold** _it_ ~~s~~",
    "a|b|c",
    "x``y",
    "`",
    "a\u202ebc",
    "&#64;octocat &amp;",
    "\n```\n## INJECTED\n```mermaid",
    "C:\\path\\to\\",
    "::notice title=x::y",
    "<details><summary>x</summary>",
    " padded ",
    "see www.evil.example/login?x=1 (WWW.EVIL.COM)",
]
TEXT = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
    st.text(alphabet="`|\\*_[]()!<>&@#:/ \n\r~-w.", max_size=20),
)


def _gfm(markdown: str) -> str:
    return str(cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE))


class _Cells(html.parser.HTMLParser):
    """The body cells of the rendered table: each as (tags inside it, text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[tuple[list[str], str]] = []
        self.tags: list[str] = []
        self._in: list[str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
        if tag == "td":
            self._in, self._text = [], []
        elif self._in is not None:
            self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._in is not None:
            self.cells.append((self._in, "".join(self._text)))
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._text.append(data)


def _cells(markdown: str) -> _Cells:
    parser = _Cells()
    parser.feed(_gfm(markdown))
    return parser


def _shown(text: str) -> str:
    """What a reader should see: the text on one line, controls as spaces, bidi overrides replaced."""
    text = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", text)
    return re.sub(r"[\u200e\u200f\u202a-\u202e\u2066-\u2069]", "\ufffd", text)


@given(TEXT, TEXT)
def test_any_text_is_one_plain_cell_and_any_name_one_code_span(text: str, name: str) -> None:
    table = f"| a | b | c |\n|---|---|---|\n| {code(name)} | {md_escape(text)} | end |\n"
    rendered = _cells(table)
    assert len(rendered.cells) == 3, _gfm(table)  # no cell split, no row ended early
    (code_tags, code_text), (text_tags, shown), (_, last) = rendered.cells
    assert last == "end"
    assert code_tags == ["code"] and code_text == (_shown(name) or " ")
    assert text_tags == [] and shown.replace("\u200b", "") == _shown(text).strip(" \t")
    # GitHub links @login, #123 and bare URLs in text, not in code: a zero-width space breaks them
    assert not re.search(r"(?i)[@#][\w/]|://|www\.", shown)
    # outside a table, a name in code shows as it is (no backslash before a pipe)
    inline = re.fullmatch(
        r"<p>At <code>(.*)</code> here</p>\n", _gfm(f"At {code(name, cell=False)} here"), re.S
    )
    assert inline is not None and html.unescape(inline[1]) == (_shown(name) or " ")


@pytest.mark.parametrize("name", HOSTILE)
def test_a_mermaid_label_stays_inside_its_node_and_the_block(name: str) -> None:
    label = mermaid_label(name)
    assert re.fullmatch(r"[A-Za-z0-9 _.,:/()+=#;-]*", label)  # no quote, bracket, backtick, % or newline
    doc = f'```mermaid\nflowchart LR\n  n1["{label}"]\n```\n\nafter'
    assert _gfm(doc).count("<pre") == 1 and _gfm(doc).rstrip().endswith("<p>after</p>")
    decoded = re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label)
    assert unicodedata.normalize("NFC", decoded) == unicodedata.normalize("NFC", _shown(name))


def test_a_hostile_pull_requests_comment_shows_every_finding_and_nothing_live(tmp_path: Any) -> None:
    """The real pipeline on the demo, with a column alias, a data value and a consumer name written to
    break out: the PR comment as GitHub would render it still ends with its footer, has every gate's
    section, and no live HTML, image, mention or heading from the pull request."""
    from app.demo import build_demo_repo
    from app.effects import UpsertComment
    from app.pipeline import run_check
    from app.report import render_report
    from app.report.effects import effects_for
    from tests.e2e.test_bad_input import commit

    demo = build_demo_repo(tmp_path / "shop")
    model = (demo.path / "models/marts/dim_customers.sql").read_text()
    alias = '"y` <img src=x> <a href=https://evil.example>ok</a> @octocat #1\n<!--"'
    value = "'on hold' || chr(13) || '<!-- @acme/admins ![](https://evil.example/i.png)'"
    cfg = (demo.path / "datacanary.yml").read_text()
    head = commit(
        demo.path,
        {
            "models/marts/dim_customers.sql": model.replace(
                "c.country,", f"c.country,\n    {value} as {alias},", 1
            ),
            "datacanary.yml": cfg.replace('"dashboard: Customer 360"', '"x\\n```\\n## INJECTED @octocat"', 1),
        },
    )
    report = run_check(demo.path, demo.head, head, progress=lambda m: None)
    markdown = render_report(report, "markdown")
    effects = effects_for(
        report,
        head_sha="0" * 40,
        pr_number=7,
        details_url="https://example.invalid/run",
        can_write=True,
        markdown=markdown,
        compact_markdown=render_report(report, "markdown", compact=True),
    )
    body = next(e.body for e in effects if isinstance(e, UpsertComment))
    rendered = _gfm(body)
    outside_code = re.sub(r"<(pre|code)\b.*?</\1>", "", rendered, flags=re.S)
    live = re.findall(r"<(img|a)\b[^>]*>", outside_code)
    assert all("evil" not in tag for tag in live), live  # no image or link the pull request wrote
    assert "<h2>INJECTED" not in rendered and rendered.count("<pre") == body.count("```mermaid")
    assert not re.search(r"@(octocat|acme)", outside_code)  # no mention notifies anyone
    assert rendered.count("<!--") == 1  # our marker only: nothing the PR wrote opens an HTML comment
    assert "this comment is edited in place" in rendered.split("<!--")[-1]  # the footer is shown
    for gate in report.gates:
        assert gate.name.capitalize() in outside_code or gate.name in outside_code
