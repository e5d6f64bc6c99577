"""The invisible Unicode mark: round trip, invisibility, each claimed transformation, where
copies go (never inside words, right-to-left text intact), speed-free false-positive checks."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pytest

from synthmark import text
from synthmark.errors import WatermarkError
from synthmark.keys import WatermarkKey
from synthmark.text import _html, _markdown
from synthmark.text.unicode_mark import COPY_CHARS, _strip_marks, detect_unicode_mark, embed_unicode_mark
from synthmark.transforms.text import TEXT_SUITE, apply_text, sentences

from .conftest import corpus, paragraphs

PAYLOAD = 0x0123456789ABCDEF
_COPY = re.compile("\U000e01ef[\ufe00-\ufe0f\U000e0100-\U000e01ef]{12}")


@pytest.mark.parametrize("language", ["en", "zh", "ar"])
def test_round_trip_and_visible_text_unchanged(key, language):
    source = paragraphs(language, 5, 8)
    marked = text.embed_watermark(source, key, PAYLOAD)
    assert _strip_marks(marked) == source
    report = text.detect_watermark(marked, key)
    assert report.found and report.content_id == PAYLOAD and report.key_id == key.key_id
    assert report.details["copies"] >= 2
    assert text.embed_watermark(marked, key, 7) == text.embed_watermark(source, key, 7)  # re-marking replaces


@pytest.mark.parametrize("language", ["en", "zh", "ar"])
def test_copies_sit_after_sentence_ends_never_inside_words(key, language):
    marked = text.embed_watermark(paragraphs(language, 20, 10), key, PAYLOAD, every=1)
    for match in _COPY.finditer(marked):
        before, after = marked[match.start() - 1], marked[match.end() : match.end() + 1]
        assert unicodedata.category(before).startswith("P"), before
        assert after == "" or after.isspace() or unicodedata.category(after).startswith(("P", "L"))
        assert unicodedata.bidirectional(marked[match.start()]) == "NSM"
    # Words and phrases are still found by plain search.
    words = re.findall(r"\w+(?: \w+)?", _strip_marks(marked))[:200]
    assert all(w in marked for w in words)


@pytest.mark.parametrize("name", ["identity", "nfkc", "whitespace", "excerpt", "excerpt3", "html", "embed"])
@pytest.mark.parametrize("language", ["en", "zh"])
def test_claimed_transformations_keep_the_exact_payload(key, name, language):
    marked = text.embed_watermark(paragraphs(language, 100, 12), key, PAYLOAD)
    for seed in range(5):
        attacked = apply_text(name, marked, seed=seed)
        report = text.detect_watermark(attacked, key)
        assert report.found and report.content_id == PAYLOAD, (name, seed)


def test_any_three_sentences_carry_it(key):
    marked = text.embed_watermark(paragraphs("en", 300, 6), key, PAYLOAD)
    pieces = sentences(marked)
    assert len(pieces) > 10
    for start in range(len(pieces) - 2):
        assert text.detect_watermark("".join(pieces[start : start + 3]), key).content_id == PAYLOAD


def test_strip_invisible_removes_it_and_other_keys_do_not_read_it(key, other_key):
    marked = text.embed_watermark(paragraphs("en", 0, 5), key, PAYLOAD)
    assert not text.detect_watermark(apply_text("strip-invisible", marked, seed=0), key).found
    assert not text.detect_watermark(marked, other_key).found
    assert text.detect_watermark(marked, [other_key, key]).key_id == key.key_id


def test_no_false_positives_on_human_text_across_100_keys():
    human = corpus("en") + corpus("zh") + corpus("ar")
    assert len(human.encode()) > 1_000_000
    for i in range(100):
        assert not detect_unicode_mark(human, WatermarkKey(np.random.default_rng(i).bytes(32))).found


def test_text_without_sentences_and_empty_text(key):
    listing = "apples\nbananas\ncherries"
    marked = embed_unicode_mark(listing, key, PAYLOAD)
    assert _strip_marks(marked) == listing and text.detect_watermark(marked, key).found
    with pytest.raises(WatermarkError, match="empty"):
        embed_unicode_mark("  \n ", key, PAYLOAD)
    assert len(_COPY.findall(embed_unicode_mark("One. Two. Three. Four.", key, 1, every=1))) == 4
    assert COPY_CHARS == 13


def test_markdown_and_html_marks_stay_in_prose(key, sample):
    from synthmark.payload import Mark

    md = _markdown.relabel(sample[".md"], None, Mark(key, PAYLOAD)).decode()
    code = md[md.index("```sh") : md.index("```\n", md.index("```sh") + 3)]
    assert not _COPY.search(code) and not _COPY.search(md[: md.index("---\n", 4)])
    assert "`fai-setup -v`" in md and text.detect_watermark(md, key).content_id == PAYLOAD
    page = _html.relabel(sample[".html"], None, Mark(key, PAYLOAD)).decode()
    assert not _COPY.search(page[page.index("<script>") : page.index("</script>")])
    assert not _COPY.search(page[page.index("<pre>") : page.index("</pre>")])
    assert not any(_COPY.search(tag) for tag in re.findall(r"<[^>]*>", page))
    assert text.detect_watermark(_html.visible_text(page), key).content_id == PAYLOAD


def test_suite_names_follow_the_spec():
    assert list(TEXT_SUITE)[:7] == [
        "identity",
        "nfkc",
        "whitespace",
        "excerpt",
        "strip-invisible",
        "substitute20",
        "embed",
    ]


@pytest.mark.clause("no-alteration")
def test_another_producers_mark_is_never_overwritten(key, other_key):
    marked = embed_unicode_mark("One. Two! Three? Four.", other_key, PAYLOAD)
    with pytest.raises(WatermarkError, match="another producer's"):
        embed_unicode_mark(marked, key, PAYLOAD)
    again = embed_unicode_mark(marked, other_key, PAYLOAD + 1)  # its own mark: replaced, not doubled
    assert detect_unicode_mark(again, other_key).payload_hex == f"{PAYLOAD + 1:016x}"


def test_no_public_tool_strips_marks():
    import synthmark.text.unicode_mark as unicode_mark
    import synthmark.transforms.text as suite

    assert not [name for name in (*unicode_mark.__all__, *suite.__all__) if "strip" in name]
