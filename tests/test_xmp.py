from __future__ import annotations

import pytest

from synthmark import xmp
from synthmark.errors import CorruptFileError

OTHER = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    ' <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
    ' xmp:CreatorTool="Darktable 4.6">\n'
    "  <dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>\n"
    " </rdf:Description>\n</rdf:RDF></x:xmpmeta>\n" + " " * 200 + '\n<?xpacket end="w"?>'
)
VALUE = '{"Label":"1","ContentProducer":"P","ProduceID":"a&b<c>"}'


def test_new_packet_round_trip():
    found = xmp.find_labels(xmp.new_packet(VALUE))
    assert [(f.value, f.form, f.namespace) for f in found] == [(VALUE, "element", xmp.TC260_NS)]


def test_merge_keeps_everything_else_verbatim():
    merged = xmp.set_label(OTHER, VALUE)
    head, _, tail = OTHER.rpartition("</rdf:RDF>")
    assert merged.startswith(head) and merged.endswith("</rdf:RDF>" + tail)
    assert "Jane Doe" in merged and 'xmp:CreatorTool="Darktable 4.6"' in merged
    assert [f.value for f in xmp.find_labels(merged)] == [VALUE]


def test_replace_never_duplicates_element_or_attribute_forms():
    once = xmp.set_label(OTHER, VALUE)
    twice = xmp.set_label(once, VALUE.replace("P", "Q"))
    assert [f.value for f in xmp.find_labels(twice)] == [VALUE.replace("P", "Q")]
    attribute_form = OTHER.replace(
        'xmp:CreatorTool="Darktable 4.6"',
        'xmp:CreatorTool="Darktable 4.6" xmlns:T="http://www.tc260.org.cn/ns/AIGC/1.0/" '
        'T:AIGC="{&quot;Label&quot;:&quot;1&quot;}"',
    )
    assert [f.form for f in xmp.find_labels(attribute_form)] == ["attribute"]
    replaced = xmp.set_label(attribute_form, VALUE)
    assert [(f.value, f.form) for f in xmp.find_labels(replaced)] == [(VALUE, "element")]


def test_hostile_and_malformed_packets_are_refused():
    with pytest.raises(CorruptFileError, match="DOCTYPE"):
        xmp.find_labels('<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    with pytest.raises(CorruptFileError, match="well-formed"):
        xmp.set_label("<x:xmpmeta><unclosed>", VALUE)
