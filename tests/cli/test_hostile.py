"""The hostile-files set (issue 14): the real ``synthmark`` console script on files made to hurt it.

Every case runs the installed script in a child process (never CliRunner: exit codes, stderr,
memory and time are those a user sees) and asserts:

* the exit code is documented for the case: ``verify`` 1 (no label) or 2 (an error), ``label`` 2
  or 0 where the file is actually labelable; never 3 (a bug), never a Python traceback;
* stderr is at most one line per file, every line ``synthmark: ...``; an error is exactly one
  ``synthmark: error: ...`` line naming the user's file (never an internal temporary copy);
* no partial output: a failed ``label`` leaves its output folder empty (no temporary file
  either), a successful one leaves exactly the output, which carries the label; the input file
  keeps its bytes; ``verify --json`` prints valid JSON with one entry per file;
* peak memory (``ru_maxrss`` of the child, from :func:`os.wait4`) is at most 1 GiB; a watchdog
  kills a child past 1.5 GiB so that a runaway read cannot take the machine down;
* ``/dev/zero`` and FIFOs (as the input, ``--key``, ``--c2pa-cert``, ``--c2pa-key``, ``--trust``,
  ``--declared-list``) are refused within 1 s. The script's own start-up (imports) takes about
  half a second and varies with load, so the refusal is timed against a baseline run that
  refuses an empty file (the same imports, a read of 0 bytes): elapsed minus
  the fastest of three baseline runs must stay under 1 s. These tests run first, alone; a child
  that hangs is killed 3 s past the start-up time.

With ``SYNTHMARK_HOSTILE_LOG=FILE`` every run's arguments, exit code, peak RSS and time are
appended to FILE as JSON lines (the figures in the issue's closing note).

The files are made in a session folder by :mod:`tests.cli.hostile` (cases 2-9 of the campaign
and their relatives). The per-file runs go through a thread pool (one worker per core), started
when the first per-file test asks for its result; the cases selected for the session are all
submitted at once and each test waits for its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import hostile
from .hostile import ARCHIVES, CASES, PROVIDER, Case

SCRIPT = Path(sys.executable).parent / "synthmark"
MAX_RSS_KIB = 1 << 20  # 1 GiB, the documented bound
KILL_RSS_KIB = 3 << 19  # the watchdog's: 1.5 GiB, proof enough
REFUSAL_SECONDS = 1.0
PLATFORM = "001191110102MACQD9K64020000"
#: Children may cache bytecode, outside the checkout (an environment that forbids it makes every
#: start compile synthmark again, a sixth of each run here); nothing else differs.
PYCACHE = Path(tempfile.gettempdir()) / f"synthmark-hostile-pycache-{os.getuid()}"
#: Internal temporary names that must never reach a message (synthmark-video-*/in.mkv ...).
TEMP_NAMES = re.compile(r"synthmark-[a-z]+-[^/\s]*/|/(in|out)\.[a-z0-9]+\b")


# ----------------------------------------------------------------------------- running the CLI


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    rss_kib: int
    seconds: float
    killed: str = ""

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()

    def __str__(self) -> str:
        first = self.lines[0] if self.lines else "(no stderr)"
        why = f", killed: {self.killed}" if self.killed else ""
        return f"exit {self.code}, {self.rss_kib // 1024} MiB, {self.seconds:.2f} s{why}; stderr: {first[:400]}"


def _rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and its children (the launcher and the CLI), in KiB."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            children = [int(c) for c in handle.read().split()]
        with open(f"/proc/{pid}/status") as handle:
            own = next((int(line.split()[1]) for line in handle if line.startswith("VmRSS:")), 0)
    except OSError:
        return 0
    return own + sum(_rss_kib(child) for child in children)


#: The launcher between pytest and the CLI. Linux counts a process's peak RSS across fork and
#: exec, so a child forked by this large test process would report pytest's own size; the
#: launcher is small when it forks the CLI, whose peak it reports as ``maxrss KIB`` on the file
#: descriptor named by its first argument (then it exits with the CLI's code).
_LAUNCHER = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "os.write(int(sys.argv[1]), b'maxrss %d' % usage.ru_maxrss)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_cli(*args: str | os.PathLike[str], timeout: float = 300) -> Run:
    """Run ``synthmark ARGS``; measure its exit code, peak RSS (:func:`os.wait4`, through
    :data:`_LAUNCHER`) and wall time. The child is killed past ``timeout`` seconds or
    :data:`KILL_RSS_KIB`."""
    argv = tuple(os.fspath(a) for a in args)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as rss:
        started = time.perf_counter()
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(rss.fileno()), str(SCRIPT), *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            pass_fds=(rss.fileno(),),
            start_new_session=True,
        )
        killed, pause = "", 0.002
        while True:
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > timeout:
                killed = f"still running after {timeout:.0f} s"
            elif _rss_kib(proc.pid) > KILL_RSS_KIB:
                killed = f"RSS over {KILL_RSS_KIB // 1024} MiB"
            if killed:
                os.killpg(proc.pid, signal.SIGKILL)
                _, status, _ = os.wait4(proc.pid, 0)
                break
            time.sleep(pause)
            pause = min(pause * 1.5, 0.02)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        rss.seek(0)
        stdout, stderr = (f.read().decode("utf-8", "replace") for f in (out, err))
        measured = rss.read().split()
    peak = int(measured[1]) if len(measured) == 2 else KILL_RSS_KIB
    run = Run(argv, proc.returncode, stdout, stderr, peak, seconds, killed)
    if os.environ.get("SYNTHMARK_HOSTILE_LOG"):  # the measurements, one JSON line a run
        with open(os.environ["SYNTHMARK_HOSTILE_LOG"], "a") as log:
            log.write(json.dumps({"args": argv, "code": run.code, "rss_kib": run.rss_kib, "seconds": seconds}) + "\n")
    return run


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_run(run: Run, codes: frozenset[int] | set[int], names: tuple[str, ...] = ()) -> None:
    """The common contract: a documented code, no traceback, memory bounded, one line per error
    naming the file (one of ``names``), no internal temporary name."""
    assert run.code in codes, f"{' '.join(run.args)}: {run}"
    assert "Traceback" not in run.stderr + run.stdout, f"traceback: {run.stderr[-2000:]}"
    assert run.rss_kib <= MAX_RSS_KIB, f"peak RSS over 1 GiB: {run}"
    assert all(line.startswith("synthmark: ") for line in run.lines), f"stderr: {run.stderr[:2000]}"
    assert not TEMP_NAMES.search(run.stderr), f"an internal temporary name leaked: {run}"
    if run.code == 2 and names:
        (line,) = run.lines or [""]
        assert line.startswith("synthmark: error: "), run
        assert any(name in line for name in names), f"the error does not name {names}: {run}"


# ----------------------------------------------------------------------------- shared files


@dataclass
class Kit:
    """Well-formed companions: a labeled image, a key, a test PKI, a FIFO, folders."""

    root: Path
    good: Path
    key: Path
    pki: Path
    fifo: Path
    empty_dir: Path
    nested_key: Path
    src_dir: Path


@pytest.fixture(scope="session")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    from synthmark import provenance
    from synthmark.keys import generate_key

    root = tmp_path_factory.mktemp("hostile-kit")
    good = root / "good.png"
    good.write_bytes(hostile.labeled("images/flat.png"))
    key = root / "wm.key"
    generate_key().save(key)
    provenance.write_test_pki(root / "pki")
    fifo = root / "fifo"
    os.mkfifo(fifo)
    (root / "empty").mkdir()
    nested_key = root / "nested.key"
    nested_key.write_text('{"format":' * 7_000 + '"x"' + "}" * 7_000)  # 63 KB: under the 64 KiB key-file limit
    src = root / "src"
    src.mkdir()
    (src / "a.png").write_bytes(hostile.fixture("images/flat.png"))
    return Kit(root, good, key, root / "pki", fifo, root / "empty", nested_key, src)


@pytest.fixture(scope="session")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    return {case.id: hostile.build(case, folder) for case in CASES}


# ----------------------------------------------------------------------------- 7, 8: special paths, run first and alone


def _label(k: Kit, *extra: str | Path, src: str | Path | None = None) -> list[str | Path]:
    return ["label", src or k.good, "-o", k.root / "out" / "refused.png", "--producer", PROVIDER, *extra]


def _signing(k: Kit, cert: str | Path | None = None, key: str | Path | None = None) -> list[str | Path]:
    return ["--c2pa-cert", cert or k.pki / "chain.pem", "--c2pa-key", key or k.pki / "signer.key"]


def _batch(k: Kit, *extra: str | Path) -> list[str | Path]:
    return ["batch", "relabel", k.src_dir, k.root / "batch-out", "--propagator", PLATFORM, "--jobs", "1", *extra]


#: id -> (argv, the offending path the error must name). Timed: refused within 1 s.
SPECIAL = {
    "verify-key-dev-zero": (lambda k: ["verify", k.good, "--key", "/dev/zero"], lambda k: "/dev/zero"),
    "label-key-dev-zero": (lambda k: _label(k, "--key", "/dev/zero"), lambda k: "/dev/zero"),
    "label-c2pa-cert-dev-zero": (lambda k: _label(k, *_signing(k, cert="/dev/zero")), lambda k: "/dev/zero"),
    "label-c2pa-key-dev-zero": (lambda k: _label(k, *_signing(k, key="/dev/zero")), lambda k: "/dev/zero"),
    "verify-trust-dev-zero": (lambda k: ["verify", k.good, "--trust", "/dev/zero"], lambda k: "/dev/zero"),
    "verify-input-dev-zero": (lambda k: ["verify", "/dev/zero"], lambda k: "/dev/zero"),
    "label-input-dev-zero": (lambda k: _label(k, src="/dev/zero"), lambda k: "/dev/zero"),
    "batch-key-dev-zero": (lambda k: _batch(k, "--key", "/dev/zero"), lambda k: "/dev/zero"),
    "batch-declared-list-dev-zero": (lambda k: _batch(k, "--declared-list", "/dev/zero"), lambda k: "/dev/zero"),
    "verify-key-fifo": (lambda k: ["verify", k.good, "--key", k.fifo], lambda k: k.fifo.name),
    "label-key-fifo": (lambda k: _label(k, "--key", k.fifo), lambda k: k.fifo.name),
    "verify-input-fifo": (lambda k: ["verify", k.fifo], lambda k: k.fifo.name),
    "label-input-fifo": (lambda k: _label(k, src=k.fifo), lambda k: k.fifo.name),
    "verify-trust-fifo": (lambda k: ["verify", k.good, "--trust", k.fifo], lambda k: k.fifo.name),
    "label-c2pa-cert-fifo": (lambda k: _label(k, *_signing(k, cert=k.fifo)), lambda k: k.fifo.name),
    "batch-declared-list-fifo": (lambda k: _batch(k, "--declared-list", k.fifo), lambda k: k.fifo.name),
}

#: Case 8 and relatives: folders and missing or hostile key files (not timed).
PATHS = {
    "verify-key-empty-dir": (lambda k: ["verify", k.good, "--key", k.empty_dir], lambda k: k.empty_dir.name),
    "label-key-dir": (lambda k: _label(k, "--key", k.empty_dir), lambda k: k.empty_dir.name),
    "label-c2pa-cert-dir": (lambda k: _label(k, *_signing(k, cert=k.empty_dir)), lambda k: k.empty_dir.name),
    "verify-trust-dir": (lambda k: ["verify", k.good, "--trust", k.empty_dir], lambda k: k.empty_dir.name),
    "verify-key-missing": (lambda k: ["verify", k.good, "--key", k.root / "missing.key"], lambda k: "missing.key"),
    "label-key-missing": (lambda k: _label(k, "--key", k.root / "missing.key"), lambda k: "missing.key"),
    "verify-key-nested-json": (lambda k: ["verify", k.good, "--key", k.nested_key], lambda k: k.nested_key.name),
    "label-key-nested-json": (lambda k: _label(k, "--key", k.nested_key), lambda k: k.nested_key.name),
}


@pytest.fixture(scope="session")
def startup_seconds(kit: Kit) -> float:
    """The fastest of three runs that import synthmark and refuse an empty file (a read of 0
    bytes): the script's start-up on this machine."""
    _idle_pool()
    empty = kit.root / "empty.jpg"
    empty.write_bytes(b"")
    runs = [run_cli("verify", empty) for _ in range(3)]
    assert {r.code for r in runs} == {2}, runs[0]
    return min(r.seconds for r in runs)


def _check_refused(run: Run, offending: str, kit: Kit) -> None:
    check_run(run, {2})
    assert len(run.lines) == 1 and run.lines[0].startswith("synthmark: error: "), run
    assert offending in run.lines[0], f"the error does not name {offending}: {run}"
    assert not (kit.root / "out").exists() or not any((kit.root / "out").iterdir()), "label left an output"


@pytest.mark.parametrize("name", SPECIAL)
def test_special_files_refused_within_a_second(name: str, kit: Kit, startup_seconds: float) -> None:
    argv, offending = SPECIAL[name]
    run = run_cli(*argv(kit), timeout=startup_seconds + 3)
    _check_refused(run, offending(kit), kit)
    assert run.seconds - startup_seconds < REFUSAL_SECONDS, f"{run} (start-up alone: {startup_seconds:.2f} s)"


@pytest.mark.parametrize("name", PATHS)
def test_folders_and_bad_key_files_are_one_line_errors(name: str, kit: Kit) -> None:
    argv, offending = PATHS[name]
    run = run_cli(*argv(kit), timeout=120)
    _check_refused(run, offending(kit), kit)


# ----------------------------------------------------------------------------- every hostile file: verify and label


@dataclass
class Outcome:
    verify: Run
    label: Run
    left: list[str]  # what the label run left in its own output folder
    unchanged: bool  # the input kept its bytes through both runs


_POOL: list[Future[Outcome]] = []


def _idle_pool() -> None:
    """Wait for every submitted per-file run (timed tests need a quiet machine)."""
    for future in _POOL:
        future.exception()


def _verify_and_label(case: Case, path: Path, out_root: Path) -> Outcome:
    before = sha256(path)
    verify = run_cli("verify", path)
    out = out_root / case.id
    out.mkdir()
    label = run_cli("label", path, "-o", out / case.name, "--producer", PROVIDER)
    return Outcome(verify, label, sorted(os.listdir(out)), sha256(path) == before)


@pytest.fixture(scope="session")
def outcomes(
    request: pytest.FixtureRequest, files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Future[Outcome]]:
    """Futures of the verify + label runs of every case the session selected, submitted at once."""
    wanted = dict.fromkeys(
        item.callspec.params["case"].id
        for item in request.session.items
        if getattr(item, "module", None) is sys.modules[__name__]
        and "case" in getattr(getattr(item, "callspec", None), "params", {})
    )
    out_root = tmp_path_factory.mktemp("hostile-out")
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
    by_id = {case.id: case for case in CASES}
    futures = {cid: pool.submit(_verify_and_label, by_id[cid], files[cid], out_root) for cid in wanted}
    _POOL.extend(futures.values())
    pool.shutdown(wait=False)
    return futures


@pytest.mark.parametrize("case", CASES, ids=str)
def test_verify_hostile_file(case: Case, files: dict[str, Path], outcomes: dict[str, Future[Outcome]]) -> None:
    done = outcomes[case.id].result()
    check_run(done.verify, case.verify, (files[case.id].name,))
    assert len(done.verify.lines) <= 1, done.verify.stderr
    assert done.unchanged, "the input file changed"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_label_hostile_file(case: Case, files: dict[str, Path], outcomes: dict[str, Future[Outcome]]) -> None:
    done = outcomes[case.id].result()
    check_run(done.label, case.label, (files[case.id].name,))
    assert done.unchanged, "the input file changed"
    if done.label.code != 0:
        assert done.left == [], f"a failed label left {done.left}"
        return
    assert done.left == [case.name], f"label left {done.left}"
    assert len(done.label.lines) <= 1, done.label.stderr
    import synthmark

    output = Path(done.label.args[3])
    report = synthmark.verify_file(output, explicit_labels=False).to_dict()
    assert report["verdict"] == "confirmed", f"exit 0 but the output carries no label: {report.get('reasons')}"


# ----------------------------------------------------------------------------- folders: JSON and folder label


def _entries(run: Run) -> list[dict]:
    try:
        doc = json.loads(run.stdout)
    except ValueError:
        pytest.fail(f"verify --json printed no valid JSON ({run}): {run.stdout[:300]!r}")
    assert isinstance(doc, list), doc
    return doc


NESTED = [case.id for case in CASES if case.id.startswith("nested-")]


def _check_report_list(run: Run, expected: list[Path], good: Path) -> None:
    check_run(run, {1, 2})
    entries = _entries(run)
    assert [e["file"] for e in entries] == [str(p) for p in expected]
    by_file = {e["file"]: e for e in entries}
    assert by_file[str(good)].get("verdict") == "confirmed", by_file[str(good)]
    for entry in entries:
        assert entry.get("error", {}).get("type") != "InternalError", entry
        assert "error" in entry or entry["verdict"] in ("none", "confirmed", "possible", "suspected"), entry
    errors = [e for e in entries if "error" in e]
    assert len(run.lines) == len(errors), run.stderr
    assert run.code == (2 if errors else 1)


def test_verify_json_lists_every_file_among_nested_labels(kit: Kit, files: dict[str, Path]) -> None:
    """Case 2: files with a 100,000-level AIGC value among a good one, named one by one."""
    paths = [kit.good, *(files[cid] for cid in NESTED)]
    _check_report_list(run_cli("verify", "--json", *paths), paths, kit.good)


def test_verify_json_folder_with_nested_labels(kit: Kit, files: dict[str, Path], tmp_path: Path) -> None:
    """Case 2, a folder walk (media files only): the good file's report is there, valid JSON."""
    (tmp_path / "a-good.png").write_bytes(kit.good.read_bytes())
    for cid in NESTED:
        if files[cid].suffix in (".png", ".jpg", ".wav", ".flac", ".mp3"):
            (tmp_path / files[cid].name).write_bytes(files[cid].read_bytes())
    paths = sorted(tmp_path.iterdir())
    _check_report_list(run_cli("verify", "--json", tmp_path), paths, tmp_path / "a-good.png")


def test_folder_label_goes_on_past_damaged_office_files(files: dict[str, Path], tmp_path: Path) -> None:
    """Case 3: a folder label writes every good file and no partial output for a damaged one."""
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    damaged = [files[case.id].name for case in CASES if case.name.startswith("damaged-")]
    for name in damaged:
        (src / name).write_bytes(files[next(c.id for c in CASES if c.name == name)].read_bytes())
    good = ["good.docx", "good.xlsx", "good.png"]
    for name, rel in zip(good, ["text/sample.docx", "text/sample.xlsx", "images/flat.png"], strict=True):
        (src / name).write_bytes(hostile.fixture(rel))
    include = [arg for ext in ("docx", "xlsx", "pptx") for arg in ("--include", f"*.{ext}")]
    run = run_cli("label", src, "-o", out, "--producer", PROVIDER, *include)
    check_run(run, {0, 2})
    written = sorted(p.name for p in out.iterdir())
    failed = [name for name in damaged if name not in written]
    assert set(good) <= set(written), f"good files not labeled: {written}; {run}"
    assert written == sorted(good + [n for n in damaged if n not in failed]), "unexpected files in the output"
    assert len(run.lines) == len(failed) and run.code == (2 if failed else 0), run.stderr
    for name in failed:
        assert any(line.startswith("synthmark: error: ") and name in line for line in run.lines), run.stderr


# ----------------------------------------------------------------------------- 5, 6: archives through batch relabel


@pytest.mark.parametrize("name", ARCHIVES)
def test_batch_relabel_hostile_archive(name: str, tmp_path: Path) -> None:
    """Members with names that are not UTF-8 or leave the tree, and zip bombs: that member fails,
    with one line, the others are written; nothing lands outside DEST; memory stays bounded."""
    make, bad = ARCHIVES[name]
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    archive = work / name
    archive.write_bytes(make())
    dest = work / "dest"
    run = run_cli("batch", "relabel", archive, dest, "--propagator", PLATFORM, "--jobs", "1")
    check_run(run, {1})
    assert len(run.lines) == len(bad), run.stderr
    for words in bad:
        assert any(line.startswith("synthmark: error: ") and words in line for line in run.lines), run.stderr
    written = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert [w for w in written if not w.startswith(".synthmark-batch")] == ["good.png", "sub/good2.jpg"], written
    assert not any(p.name == "escape.png" for p in tmp_path.rglob("*")), "a member escaped DEST"
