"""The visible layer is reported only when it reads back from the output (issue 13): the label
written is read again with the reader ``verify`` uses, at a label position, before anyone is
told it is there."""

from __future__ import annotations

import pytest

import synthmark
from synthmark import text
from synthmark.errors import RenderError
from synthmark.text import _markdown, _plain

from .conftest import PRODUCER


def test_a_label_that_does_not_read_back_raises(monkeypatch):
    """Before issue 13 relabel_content returned whatever the writer made and labeling reported
    ``visible`` regardless."""
    monkeypatch.setattr(_plain, "relabel", lambda data, style, mark, *, path=None: data)  # a writer that fails silently
    with pytest.raises(RenderError, match="does not read back at a label position"):
        text.relabel_content(b"Plain words. More words.", text.TextLabelStyle(), None)
    label = synthmark.AIGCLabel.new(PRODUCER, produce_id="rb-1")
    with pytest.raises(RenderError):
        synthmark.label_bytes(b"Plain words. More words.", label)


def test_a_label_written_inside_a_sentence_does_not_count(monkeypatch):
    # A writer that puts the phrase into the prose rather than at a label position.
    def inline(data, style, mark, *, path=None):
        return data.replace(b"covers ", "covers AI生成 ".encode())

    monkeypatch.setattr(_markdown, "relabel", inline)
    with pytest.raises(RenderError):
        text.relabel_content(b"# Notes\n\nThe rule covers documents.\n\nEnd.\n", "AI生成", None, path="n.md")


@pytest.mark.clause("text-explicit")
def test_labeling_a_document_that_only_mentions_the_phrase(tmp_path):
    """The issue's case: a Markdown body mentioning AI生成内容 got no label and ``visible`` was
    reported; now the label is added, read back, and verify finds it at a label position."""
    source = tmp_path / "weekly.md"
    source.write_text("# 周报\n\n近年来，AI生成内容在社交平台上迅速增多。\n\n本周完成了三项工作。\n", "utf-8")
    label = synthmark.AIGCLabel.new(PRODUCER, produce_id="rb-2")
    result = synthmark.label_file(source, tmp_path / "out.md", label)
    assert result.layers == ("visible", "metadata")
    out = (tmp_path / "out.md").read_text("utf-8")
    assert out.endswith("本周完成了三项工作。\n\nAI生成\n")  # the default style is bottom-right: the end
    visible = synthmark.verify_file(tmp_path / "out.md").evidence["visible"]
    assert visible.found and visible.details["phrases"][0]["at_label_position"]
    assert any(not p["at_label_position"] for p in visible.details["phrases"])  # the mention is listed, not counted


def test_verify_does_not_take_a_mention_for_a_label(tmp_path):
    page = tmp_path / "news.html"
    page.write_text("<html><body><p>本作品未使用AI生成。</p><p>正文。</p></body></html>", "utf-8")
    visible = synthmark.verify_file(page).evidence["visible"]
    assert not visible.found and visible.details["phrases"][0]["negated"]
