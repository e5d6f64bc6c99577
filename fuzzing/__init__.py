"""Coverage-guided fuzzing (atheris/libFuzzer) of the parsers synthmark wrote itself.

The contract every target checks: given arbitrary bytes, synthmark either returns or raises an
exception derived from :class:`synthmark.errors.SynthmarkError`; any other exception, and any
input that runs over 10 s, is a crash. The targets (``python -m fuzzing list``) live in
:mod:`fuzzing.targets`, their seed corpora are built at run time from ``fixtures/`` by
:mod:`fuzzing.seeds`, and every crash found is kept as a small reproducer under
``fuzzing/crashes/<target>/``, replayed by ``tests/test_fuzzing.py``.

Commands (from the repository root, in the project's virtual environment)::

    python -m fuzzing list                              # the targets and what each covers
    python -m fuzzing run jpeg --runs 20000             # one target (libFuzzer flags after --)
    python -m fuzzing all --runs 1000000 --jobs 2       # the long run: every target, 1 M each
    python -m fuzzing summary                           # executions summed over all runs so far
    python -m fuzzing replay jpeg crash-file...         # rerun inputs, uninstrumented
    python -m fuzzing minimize jpeg crash-file          # shrink a crashing input

Work files (seeds, the growing corpus, artifacts, logs and ``results.jsonl``) go to
``$TMPDIR/synthmark-fuzz/`` unless ``--work DIR`` says otherwise; nothing there is committed.
The results behind the README's figures are kept in ``fuzzing/results.jsonl`` (append a run's
lines there; ``summary --results fuzzing/results.jsonl`` sums them).
CI runs a short slice of each target through ``tests/test_fuzzing.py``.
"""
