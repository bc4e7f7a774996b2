"""The results' tables (bench/report.py): one layout for the terminal and for Markdown."""

from bench.report import markdown_table, text_table


def test_the_markdown_table_has_a_column_per_heading_and_escapes_pipes():
    headings = ["writes/s", "page", "req/s"]
    table = markdown_table(headings, [["1", "a|b", "3.0"]], left=2).splitlines()

    assert table[1] == "|---|---|---:|"
    assert table[2] == "| 1 | a\\|b | 3.0 |"


def test_the_text_table_pads_names_to_the_left_and_numbers_to_the_right():
    table = text_table(["page", "req/s"], [["home /", "5.0"], ["/healthz", "1234.5"]])

    assert table.splitlines() == [
        "page       req/s",
        "--------  ------",
        "home /       5.0",
        "/healthz  1234.5",
    ]
