#!/usr/bin/env python3
"""CNN Playground: one entry point to build, serve and test the static site.

    python3 build.py build     assemble site/ (the self-hosted, offline Pyodide app)
    python3 build.py serve     build if needed, serve site/ on http://127.0.0.1:8000/
    python3 build.py test      install test deps, build if needed, run pytest (args after --)
    python3 build.py dev       panel serve playground/app.py --autoreload (server-side Python)
    python3 build.py clean     remove site/ and build artefacts (--all: the download cache too)
    python3 build.py lock      maintainers: re-pin every external artefact in runtime.lock.json
    python3 build.py lock-venvs   maintainers: re-pin the host venvs' packages in requirements/
    python3 build.py bench-load   cold/warm load times (median of 5) in headless Chromium
    python3 build.py scorm     build if needed, then the SCORM 1.2 package for an LMS (a zip)

This file only reads the command line; the build's steps live in the package sitebuild/
(standard library only, so this runs on a bare Python >= 3.11). Everything else is
installed into the project venv `.venv/`. docs/SITE.md explains how the site is assembled
and verified, and how to upgrade the pinned runtime.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sitebuild.assemble import build, ensure_site
from sitebuild.chromium import CHROMIUM_ENV, ensure_chromium
from sitebuild.config import ROOT, SITE, VENV, cache_dir
from sitebuild.lock import lock_venvs, pin_runtime
from sitebuild.report import StepError, log
from sitebuild.scorm import DEFAULT_OUT, build_package
from sitebuild.server import make_server
from sitebuild.testrun import run_tests
from sitebuild.venv import BUILD_GROUPS, TEST_GROUPS, ensure_venv, venv_bin


def cmd_build(args: argparse.Namespace) -> int:
    build(Path(args.out).resolve() if args.out else SITE)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    if not args.no_build:
        ensure_site()
    server = make_server(SITE, args.host, args.port, args.prefix, quiet=args.quiet)
    port = server.server_address[1]
    prefix = "/" + args.prefix.strip("/") + "/" if args.prefix.strip("/") else "/"
    log(f"Serving site/ at http://{args.host}:{port}{prefix}  (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nStopped.")
    finally:
        server.server_close()
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    return run_tests(args.pytest_args)


def cmd_dev(args: argparse.Namespace) -> int:
    ensure_venv(BUILD_GROUPS)
    cmd = [
        str(venv_bin("panel")),
        "serve",
        "playground/app.py",
        "--autoreload",
        "--port",
        str(args.port),
        "--address",
        args.host,
        "--allow-websocket-origin",
        f"{args.host}:{args.port}",
    ]
    log("Running " + " ".join(cmd[1:]))
    try:
        return subprocess.run(cmd, cwd=str(ROOT), check=False).returncode
    except KeyboardInterrupt:
        return 0


def cmd_clean(args: argparse.Namespace) -> int:
    targets = [SITE, ROOT / "build"]
    if args.venv:
        targets += [VENV, *ROOT.glob(".venv-*")]  # .venv-numpy*, .venv-reference
    if args.all:
        targets.append(cache_dir())
    for path in targets:
        if path.exists():
            log(f"Removing {path}")
            shutil.rmtree(path)
    return 0


def cmd_lock(args: argparse.Namespace) -> int:
    pin_runtime()
    return 0


def cmd_lock_venvs(args: argparse.Namespace) -> int:
    lock_venvs()
    return 0


def cmd_bench_load(args: argparse.Namespace) -> int:
    """Cold and warm load times, bytes and phases: benchmarks/bench_load.py in the venv."""
    python = ensure_venv(TEST_GROUPS)
    if not args.no_build and not args.site:
        ensure_site()
    env = dict(os.environ, **{CHROMIUM_ENV: ensure_chromium(python)})
    cmd = [
        str(python),
        str(ROOT / "benchmarks" / "bench_load.py"),
        "--runs",
        str(args.runs),
        "--site",
        str(Path(args.site).resolve() if args.site else SITE),
    ]
    if args.json:
        cmd += ["--json", args.json]
    return subprocess.run(cmd, env=env, check=False).returncode


def cmd_scorm(args: argparse.Namespace) -> int:
    if args.site:
        site = Path(args.site).resolve()
    else:
        ensure_site()
        site = SITE
    build_package(site, Path(args.out).resolve() if args.out else DEFAULT_OUT)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build, serve and test the CNN Playground static site.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n")[1],
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="assemble site/")
    p.add_argument("--out", help="write the site here instead of site/")
    p = sub.add_parser("serve", help="build if needed, then serve site/")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--prefix", default="/", help="serve under a sub-path, e.g. /courses/cnn/")
    p.add_argument("--no-build", action="store_true", help="serve site/ as it is")
    p.add_argument("--quiet", action="store_true", help="do not log requests")
    p = sub.add_parser("test", help="run the whole pytest suite (unit + e2e)")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed to pytest (after --)")
    p = sub.add_parser("dev", help="panel serve playground/app.py --autoreload")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5006)
    p = sub.add_parser("clean", help="remove site/ and build artefacts")
    p.add_argument("--all", action="store_true", help="also the download cache")
    p.add_argument("--venv", action="store_true", help="also .venv/")
    sub.add_parser("lock", help="re-pin every external artefact in runtime.lock.json")
    sub.add_parser(
        "lock-venvs", help="re-pin the host venvs' packages, with hashes, in requirements/"
    )
    p = sub.add_parser("bench-load", help="cold/warm load time and transfer in headless Chromium")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--no-build", action="store_true")
    p.add_argument("--site", help="measure this built site instead of site/")
    p.add_argument("--json", help="also write the figures as JSON to this file")
    p = sub.add_parser("scorm", help="the SCORM 1.2 package of the site, for an LMS (a zip)")
    p.add_argument("--out", help=f"write the zip here (default: {DEFAULT_OUT.relative_to(ROOT)})")
    p.add_argument("--site", help="package this built site as it is (no build)")
    args = parser.parse_args(argv)
    commands = {
        "build": cmd_build,
        "serve": cmd_serve,
        "test": cmd_test,
        "dev": cmd_dev,
        "clean": cmd_clean,
        "lock": cmd_lock,
        "lock-venvs": cmd_lock_venvs,
        "bench-load": cmd_bench_load,
        "scorm": cmd_scorm,
    }
    try:
        return commands[args.command](args)
    except StepError as exc:
        print(f"\nbuild.py {args.command}: step '{exc.step}' failed: {exc.why}", file=sys.stderr)
        if exc.fix:
            print(f"  what to do: {exc.fix}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
