"""GitHub's size limits: 50 annotations per request, 65,535 characters per check-run text, 65,536 per
comment. Batching and cutting never exceed a limit, never split a character, and always say where the
rest is."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.report import limits

POINTER = "… truncated; full report: the datacanary-report artifact"


def test_120_annotations_make_three_batches_of_at_most_50() -> None:
    groups = limits.batches(list(range(120)))
    assert [len(g) for g in groups] == [50, 50, 20]


def test_no_annotations_is_still_one_request() -> None:
    assert limits.batches([]) == [()]


@settings(deadline=None)  # the suite shares 2 cores with others: no timing flakes
@given(st.lists(st.integers(), max_size=400), st.integers(1, 60))
def test_batches_keep_order_and_respect_size(items: list[int], size: int) -> None:
    groups = limits.batches(items, size)
    assert [x for g in groups for x in g] == items
    assert all(len(g) <= size for g in groups)
    assert all(len(g) == size for g in groups[:-1])


def test_size_counts_utf16_units() -> None:
    assert limits.size("abc") == 3
    assert limits.size("é") == 1
    assert limits.size("🐤") == 2


def test_text_that_fits_is_unchanged() -> None:
    assert limits.cut_text("short", 100, POINTER) == "short"


def test_cut_prefers_a_section_boundary() -> None:
    sections = [f"## Section {i}\n\n" + "row\n" * 40 for i in range(10)]
    text = "".join(sections)
    cut = limits.cut_text(text, 1000, POINTER)
    assert limits.size(cut) <= 1000 and cut.endswith(POINTER)
    kept = cut[: -len(POINTER)].rstrip()
    assert text.startswith(kept)
    following = text[len(kept) :].lstrip("\n")
    assert following.startswith("## Section")  # nothing of a half section is left dangling


def test_cut_closes_an_open_code_fence_and_details() -> None:
    text = "intro\n<details><summary>rows</summary>\n\n```\n" + "x = 1\n" * 500 + "```\n</details>\n"
    cut = limits.cut_text(text, 400, POINTER)
    body = cut[: cut.rindex(POINTER)]
    assert body.count("```") % 2 == 0
    assert body.count("<details") == body.count("</details>")
    assert limits.size(cut) <= 400


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3000), st.integers(80, 2500))
def test_cut_never_exceeds_the_limit_and_always_points_to_the_rest(text: str, limit: int) -> None:
    cut = limits.cut_text(text, limit, POINTER)
    assert limits.size(cut) <= limit
    if cut != text:
        assert cut.endswith(POINTER)
    cut.encode("utf-8")  # never a lone surrogate or half a character


@settings(deadline=None)  # the suite shares 2 cores with others: no timing flakes
@given(st.text(alphabet="a🐤é\u0301\n#", min_size=1, max_size=500), st.integers(1, 40))
def test_clip_keeps_whole_characters(text: str, limit: int) -> None:
    clipped = limits.clip(text, limit)
    assert limits.size(clipped) <= limit
    clipped.encode("utf-8")
    if clipped != text:
        assert clipped.endswith("…")


def test_fit_drops_example_rows_before_tables_before_cutting() -> None:
    details = (
        "<details><summary>examples</summary>\n\n"
        + "| a | b |\n|---|---|\n"
        + "| 1 | 2 |\n" * 200
        + "</details>\n"
    )
    table = "| col | changed |\n|---|---|\n" + "| x | 1 |\n" * 50
    markdown = "## FAIL\n\n" + table + "\n" + details
    notes = {"pointer": POINTER, "details_note": "(examples omitted)", "table_note": "(table omitted)"}
    without_details = limits.fit_markdown(markdown, limits.size(markdown) - 10, **notes)
    assert "(examples omitted)" in without_details and "| x | 1 |" in without_details
    assert "<details>" not in without_details
    compact = limits.fit_markdown(markdown, 200, **notes)
    assert "(table omitted)" in compact and "| x | 1 |" not in compact and limits.size(compact) <= 200
    tiny = limits.fit_markdown(markdown, 60, **notes)
    assert limits.size(tiny) <= 60


def test_a_long_table_keeps_its_first_rows_before_it_is_omitted() -> None:
    # findings list the blocking ones first: cutting a table to its head keeps them in the comment
    table = "| rule | where |\n|---|---|\n" + "".join(f"| blocking-{i} | f.sql |\n" for i in range(5))
    table += "".join(f"| notice-{i} | f.sql |\n" for i in range(300))
    markdown = "## FAIL\n\n" + table
    notes = {"pointer": POINTER, "details_note": "(examples omitted)", "table_note": "(table omitted)"}
    fitted = limits.fit_markdown(markdown, 2_000, **notes)
    assert limits.size(fitted) <= 2_000 and "(table omitted)" in fitted
    assert all(f"blocking-{i}" in fitted for i in range(5))  # the first 50 rows of 305
    assert "notice-44 " in fitted and "notice-45 " not in fitted and "255 more row(s) not shown" in fitted


def test_fit_returns_markdown_unchanged_when_it_fits() -> None:
    assert limits.fit_markdown("ok", 10, pointer=POINTER, details_note="d", table_note="t") == "ok"
