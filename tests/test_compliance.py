"""The README's compliance matrix is generated from the tests' clause markers and cannot drift."""

from __future__ import annotations

from . import compliance


def test_every_marker_names_a_known_clause_and_every_clause_has_a_test():
    found = compliance.collect()
    assert set(found) <= set(compliance.CLAUSES), set(found) - set(compliance.CLAUSES)
    assert [clause for clause in compliance.CLAUSES if not found.get(clause)] == []


def test_the_readme_matrix_is_current():
    readme = compliance.README.read_text(encoding="utf-8")
    expected = compliance.updated_readme(readme, compliance.render(compliance.collect()))
    assert readme == expected, "README compliance matrix is stale: run `python -m tests.compliance`"
