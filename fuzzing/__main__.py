"""The fuzzing runner (see the package docstring for the commands).

Each target is fuzzed in a child process (``python -m fuzzing _child NAME``) that imports
synthmark under atheris instrumentation, builds the target's seed corpus if it is missing, and
runs libFuzzer. The parent tees the child's output to a log, reads the executions and crashes
from it, prints one table row per target and appends one JSON line per target to the results
file. By default a child keeps fuzzing past a crash, saving the first input of each crash
signature (exception type and innermost synthmark function) as an artifact;
``--stop-on-crash`` hands the first exception to libFuzzer instead.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK = Path(os.environ.get("TMPDIR") or tempfile.gettempdir()) / "synthmark-fuzz"
_CRASH_LINE = re.compile(r"^fuzzing: crash (?P<artifact>\S+) (?P<signature>.*)$")
_LIBFUZZER_ERROR = re.compile(r"ERROR: libFuzzer: (?P<kind>[\w-]+)")
_WRITTEN = re.compile(r"Test unit written to (?P<artifact>\S+)")
_DONE = re.compile(r"Done (?P<runs>\d+) runs in (?P<seconds>\d+) second")
_STATUS = re.compile(r"^#(?P<runs>\d+)\s")


def _names(only: str | None) -> list[str]:
    from fuzzing.targets import TARGETS

    if not only:
        return list(TARGETS)
    names = only.split(",")
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        sys.exit(f"unknown target(s): {', '.join(unknown)}; see python -m fuzzing list")
    return names


# -- the child: one libFuzzer run ---------------------------------------------------------------


def _child(args: argparse.Namespace) -> None:
    import atheris

    extra = [p for p in args.instrument.split(",") if p]
    with atheris.instrument_imports(include=["synthmark", *extra]):
        from fuzzing import targets

        for package in extra:  # imported here, or they would be imported later, uninstrumented
            importlib.import_module(package)
    warnings.simplefilter("ignore")
    work = Path(args.work)
    seeds = targets.seed_folder(args.name, work)
    corpus = work / "corpus" / args.name
    artifacts = work / "artifacts" / args.name
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    function = targets.TARGETS[args.name].function
    seen: set[str] = set()

    def test_one_input(data: bytes) -> None:
        try:
            function(data)
        except Exception as exc:  # targets let through only what breaks the contract
            if args.stop_on_crash:
                raise
            crash = targets.describe(exc)
            if crash["signature"] in seen:
                return
            seen.add(crash["signature"])
            path = artifacts / f"crash-{hashlib.sha1(data).hexdigest()}"  # libFuzzer's naming
            path.write_bytes(data)
            path.with_suffix(".txt").write_text(crash["traceback"])
            print(f"fuzzing: crash {path} {crash['signature']} ({crash['where']})", file=sys.stderr, flush=True)

    flags = [
        f"-runs={args.runs if args.runs > 0 else -1}",
        f"-max_total_time={args.seconds}",
        "-timeout=10",
        "-rss_limit_mb=2048",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
    ]
    max_len = args.max_len or targets.TARGETS[args.name].max_len
    if max_len:
        flags.append(f"-max_len={max_len}")
    atheris.Setup([sys.argv[0], *flags, *args.libfuzzer, str(corpus), str(seeds)], test_one_input)
    print("fuzzing: started", file=sys.stderr, flush=True)
    atheris.Fuzz()


# -- the parent: running children and reading their output ---------------------------------------


def _child_run(name: str, args: argparse.Namespace, runs: int, seconds: int, log: Any, echo: bool) -> dict[str, Any]:
    """One child process: its executions, fuzzing time, crashes and exit status."""
    command = [sys.executable, "-m", "fuzzing", "_child", name, "--work", args.work, "--runs", str(runs)]
    command += ["--seconds", str(seconds), "--max-len", str(args.max_len), "--instrument", args.instrument]
    command += ["--stop-on-crash"] if args.stop_on_crash else []
    command += ["--", *args.libfuzzer] if args.libfuzzer else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done, status, started, crashes, error = None, 0, None, [], None
    begin = time.monotonic()
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            log.write(line)
            if echo and not line.startswith("INFO: Instrumenting"):
                print(line, end="", flush=True)
            if line.startswith("fuzzing: started"):
                started = time.monotonic()
            elif match := _CRASH_LINE.match(line):
                crashes.append({"artifact": match["artifact"], "signature": match["signature"]})
            elif match := _LIBFUZZER_ERROR.search(line):
                error = match["kind"]
            elif (match := _WRITTEN.search(line)) and error:
                crashes.append({"artifact": match["artifact"], "signature": f"libFuzzer {error}"})
            elif match := _DONE.search(line):
                done = int(match["runs"])
            elif match := _STATUS.match(line):
                status = int(match["runs"])
    return {
        "executions": status if done is None else done,
        "seconds": time.monotonic() - (started or begin),
        "crashes": crashes,
        "rc": child.returncode,
        "error": error,
    }


def fuzz(name: str, args: argparse.Namespace, *, echo: bool) -> dict[str, Any]:
    """Fuzz target ``name`` in child processes (a new one after a hang or out-of-memory kill, up
    to ``--restarts`` times, for the runs and time left); the result row, also appended to the
    results file."""
    work = Path(args.work)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    log_path = work / "logs" / f"{name}-{stamp}.log"
    executions, seconds, crashes, rc = 0, 0.0, [], 0
    with open(log_path, "w") as log:
        for _ in range(args.restarts + 1):
            runs = args.runs - executions if args.runs > 0 else 0
            time_left = max(1, round(args.seconds - seconds)) if args.seconds > 0 else 0
            part = _child_run(name, args, runs, time_left, log, echo)
            executions += part["executions"]
            seconds += part["seconds"]
            crashes += part["crashes"]
            rc = part["rc"]
            if rc == 0 or part["error"] is None or args.stop_on_crash:
                break
            if (args.runs > 0 and executions >= args.runs) or (args.seconds > 0 and seconds >= args.seconds):
                break
    result = {
        "time": datetime.datetime.now().isoformat(timespec="seconds"),
        "target": name,
        "executions": executions,
        "seconds": round(seconds, 1),
        "exec_per_s": round(executions / seconds) if seconds > 0 else 0,
        "crashes": crashes,
        "rc": rc,
        "max_len": args.max_len,
        "log": str(log_path),
    }
    results = Path(args.results or work / "results.jsonl")
    results.parent.mkdir(parents=True, exist_ok=True)
    with open(results, "a") as out:
        out.write(json.dumps(result) + "\n")
    return result


def _row(result: dict[str, Any]) -> str:
    return (
        f"{result['target']:<22} {result['executions']:>12,} {result['seconds']:>9.1f} "
        f"{result['exec_per_s']:>8,} {len(result['crashes']):>7}"
    )


_HEADER = f"{'target':<22} {'executions':>12} {'seconds':>9} {'exec/s':>8} {'crashes':>7}"


def _report(results: list[dict[str, Any]]) -> None:
    print(_HEADER)
    for result in results:
        print(_row(result))
    for result in results:
        for crash in result["crashes"]:
            print(f"{result['target']}: {crash['signature']}\n    {crash['artifact']}")


def _run(args: argparse.Namespace) -> int:
    result = fuzz(args.name, args, echo=True)
    _report([result])
    return 1 if result["crashes"] or result["rc"] not in (0, None) else 0


def _all(args: argparse.Namespace) -> int:
    names = _names(args.only)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(fuzz, name, args, echo=False) for name in names]
        results = []
        for future in futures:
            results.append(future.result())
            print(_row(results[-1]), flush=True)
    print()
    _report(results)
    return 1 if any(r["crashes"] or r["rc"] for r in results) else 0


def _summary(args: argparse.Namespace) -> int:
    """Executions summed over every run in the results file, and each distinct crash signature."""
    results = Path(args.results or Path(args.work) / "results.jsonl")
    totals: dict[str, dict[str, Any]] = {}
    for line in results.read_text().splitlines():
        row = json.loads(line)
        total = totals.setdefault(row["target"], {"executions": 0, "seconds": 0.0, "runs": 0, "crashes": {}})
        total["executions"] += row["executions"]
        total["seconds"] += row["seconds"]
        total["runs"] += 1
        for crash in row["crashes"]:
            total["crashes"].setdefault(crash["signature"], crash["artifact"])
    print(f"{'target':<22} {'executions':>12} {'seconds':>9} {'exec/s':>8} {'runs':>5} {'crashes':>7}")
    for name, total in sorted(totals.items()):
        rate = round(total["executions"] / total["seconds"]) if total["seconds"] else 0
        print(
            f"{name:<22} {total['executions']:>12,} {total['seconds']:>9.1f} {rate:>8,} {total['runs']:>5} "
            f"{len(total['crashes']):>7}"
        )
    for name, total in sorted(totals.items()):
        for signature, artifact in total["crashes"].items():
            print(f"{name}: {signature}\n    {artifact}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from fuzzing.targets import TARGETS

    for name, target in TARGETS.items():
        print(f"{name:<22} {target.doc}")
    return 0


def _seeds(args: argparse.Namespace) -> int:
    from fuzzing.targets import seed_folder

    for name in _names(args.only):
        folder = seed_folder(name, Path(args.work))
        files = list(folder.iterdir())
        print(f"{name:<22} {len(files):>4} seeds {sum(f.stat().st_size for f in files):>10,} bytes  {folder}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from fuzzing.targets import TARGETS, describe

    failed = 0
    for file in args.files:
        try:
            TARGETS[args.name].function(Path(file).read_bytes())
        except Exception as exc:  # reporting what breaks the contract
            crash = describe(exc)
            print(f"CRASH {file}: {crash['signature']} ({crash['where']}): {crash['message']}")
            failed += 1
        else:
            print(f"ok    {file}")
    return 1 if failed else 0


def _minimize(args: argparse.Namespace) -> int:
    from fuzzing.targets import TARGETS, minimize

    data = Path(args.file).read_bytes()
    small, signature = minimize(TARGETS[args.name].function, data, seconds=args.seconds)
    out = Path(args.out or f"{args.file}.min")
    out.write_bytes(small)
    print(f"{signature}: {len(data)} -> {len(small)} bytes, {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    libfuzzer = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(prog="python -m fuzzing", description=__doc__.split("\n\n")[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--work", default=str(DEFAULT_WORK), help=f"work folder (default {DEFAULT_WORK})")
    common.add_argument("--results", help="results file (default WORK/results.jsonl)")
    subparsers = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Any, help: str | None = None, runs: int = 0) -> argparse.ArgumentParser:
        sub = subparsers.add_parser(name, parents=[common], help=help)
        sub.set_defaults(handler=handler)
        if runs:
            sub.add_argument("--runs", type=int, default=runs, help=f"executions (default {runs}, 0: no limit)")
            sub.add_argument("--seconds", type=int, default=0, help="time limit per target (default 0: none)")
            sub.add_argument("--max-len", type=int, default=0, help="longest input (default 0: libFuzzer's guess)")
            sub.add_argument("--stop-on-crash", action="store_true", help="hand the first crash to libFuzzer")
            sub.add_argument("--restarts", type=int, default=3, help="new children after a hang or OOM (default 3)")
            sub.add_argument(
                "--instrument",
                default="",
                help="comma-separated packages to instrument besides synthmark (mutagen, pypdf: deeper, 3-5x slower)",
            )
        return sub

    command("list", _list, "the targets")
    command("seeds", _seeds, "build the seed corpora").add_argument("--only", help="comma-separated targets")
    command("run", _run, "fuzz one target (libFuzzer flags after --)", runs=100_000).add_argument("name")
    every = command("all", _all, "fuzz every target, --jobs at a time", runs=100_000)
    every.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    every.add_argument("--only", help="comma-separated targets")
    command("summary", _summary, "executions and crashes summed over the results file")
    replay = command("replay", _replay, "run files through a target, uninstrumented")
    replay.add_argument("name")
    replay.add_argument("files", nargs="+")
    shrink = command("minimize", _minimize, "shrink a crashing input, keeping its crash signature")
    shrink.add_argument("name")
    shrink.add_argument("file")
    shrink.add_argument("--out", help="default FILE.min")
    shrink.add_argument("--seconds", type=float, default=120)
    command("_child", _child, runs=100_000).add_argument("name")
    args = parser.parse_args(argv)
    args.libfuzzer = libfuzzer
    return args.handler(args) or 0


if __name__ == "__main__":
    sys.exit(main())
