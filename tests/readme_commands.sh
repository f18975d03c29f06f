#!/usr/bin/env bash
# Every command README.md shows runs as written. Usage: tests/readme_commands.sh BUILD_DIR
#
# The commands are the lines of its ```sh blocks, the `$ ` lines of its other blocks, and the
# inline `code` of two words or more that starts with make, hogwild_train, hogwild_eval, build/,
# scripts/, ctest or tests/mutations/run.sh. Each one is run as written but for three changes:
# hogwild_train (and make run's RUN_ARGS, make mpirun's ARGS) get "--epochs 1 --train-limit 2000
# --test-limit 1000" in place of their own values of those flags (seconds instead of 15 MNIST
# epochs); make gets BUILD=BUILD_DIR; the targets that would run this suite again (test, check,
# sanitize) or rewrite the sources (format) are only resolved (make -n). A template (a
# placeholder such as FILE, N, [...] or "...") is listed, not run.
# A command this script does not know how to run fails the test: teach it, or change the README.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# The commands' relative paths resolve in a scratch directory, so the files they write
# (ck.pt, m.json, model.pt) land there.
for d in configs data scripts examples; do ln -s "$src/$d" "$scratch/$d"; done
ln -s "$build" "$scratch/build"
# What the commands that read a model or a run's JSON are shown with.
"$build/hogwild_train" --config configs/smoke.toml --test-limit 200 --progress off \
  --save-model "$scratch/model.pt" --metrics-out "$scratch/m.json" >/dev/null 2>&1 \
  || { (cd "$src" && "$build/hogwild_train" --config configs/smoke.toml --test-limit 200 --progress off); exit 1; }
# make run on a built tree must show the program first: build what a source change left stale.
(cd "$src" && make --no-print-directory BUILD="$build" trainer >/dev/null)
# As root, OpenMPI refuses to start without these (make mpirun sets them itself).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

exec python3 - "$src" "$build" "$scratch" <<'EOF'
import os, re, shlex, subprocess, sys

src, build, scratch = sys.argv[1:4]
QUICK = ["--epochs", "1", "--train-limit", "2000", "--test-limit", "1000"]
DRY_RUN_TARGETS = {"test", "check", "sanitize", "format"}  # the suite again; rewriting sources
LIMIT_S = 240
# As typed at a terminal: not a sub-make of the make test that runs this suite (a sub-make
# announces its directory, and make's flags would leak into the commands).
USER_ENV = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}

def readme_commands(text):
    commands, fence = [], None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
        elif fence == "sh" and line.strip() and not line.lstrip().startswith("#"):
            while line.endswith("\\") and i + 1 < len(lines):
                i += 1
                line = line[:-1] + " " + lines[i].strip()
            commands.append(re.sub(r"\s+#.*$", "", line).strip())
        elif fence is not None and line.startswith("$ "):
            commands.append(line[2:].strip())
        i += 1
    # Inline code outside the blocks (a span may wrap onto the next line).
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for span in re.findall(r"`([^`]+)`", prose):
        span = " ".join(span.split())
        # One word is a name (`hogwild_train`, `build/`), not a command.
        if " " in span and re.match(r"(make|hogwild_train|hogwild_eval|build/|scripts/|ctest|tests/mutations/run.sh)", span):
            commands.append(span)
    seen, unique = set(), []
    for c in commands:
        if c not in seen:
            seen.add(c)
            unique.append(c)
    return unique

def is_template(words):
    for w in words:
        value = w.split("=", 1)[1] if re.match(r"^[A-Z_]+=", w) else w
        if "[" in value or "..." in value or re.fullmatch(r"[A-Z]+", value):
            return True
    return False

def makefile_default(name):
    m = re.search(rf"^{name} \?= (.*)$", open(f"{src}/Makefile").read(), re.M)
    return m.group(1).strip()

def quick(args):
    """args with QUICK in place of their own --epochs, --train-limit and --test-limit."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in QUICK[0::2]:
            skip = True
        elif not a.split("=", 1)[0] in QUICK[0::2]:
            out.append(a)
    return out + QUICK

def with_quick_limits(words):
    # hogwild_train's arguments run to the end of the command.
    return quick(words) if any(w.endswith("hogwild_train") for w in words) else words

def plan(command):
    """(how, argv, cwd) for one README command."""
    words = shlex.split(command)
    if is_template(words):
        return "template", None, None
    if words[0] == "make":
        target = next((w for w in words[1:] if "=" not in w and not w.startswith("-")), "")
        if target in DRY_RUN_TARGETS:
            return "resolved", ["make", "-n", f"BUILD={build}"] + words[1:], src
        argv = ["make", f"BUILD={build}"] + words[1:]
        if target in ("run", "mpirun"):
            var = "RUN_ARGS" if target == "run" else "ARGS"
            given = [w for w in words[1:] if w.startswith(var + "=")]
            value = given[0].split("=", 1)[1] if given else makefile_default(var)
            argv = [w for w in argv if not w.startswith(var + "=")] + [f"{var}={shlex.join(quick(shlex.split(value)))}"]
        return "ran", argv, src
    if words[0] in ("hogwild_train", "hogwild_eval"):
        words[0] = "build/" + words[0]
    if words[0] == "ctest":
        return "ran", words, build
    if words[0] == "tests/mutations/run.sh":
        return "listed (applies every mutation and runs the suite: an hour; run by hand)", None, None
    if words[0] == "scripts/two_hosts.sh":
        return "listed (run by test_mpi's two-machine case)", None, None
    if words[0].startswith(("build/", "scripts/", "/usr/bin/python3")) or words[0] == "mpirun":
        return "ran", with_quick_limits(words), scratch
    return "unknown", None, None

failures = []
commands = readme_commands(open(f"{src}/README.md").read())
for command in commands:
    how, argv, cwd = plan(command)
    if argv is None:
        print(f"{how:9} {command}")
        if how == "unknown":
            failures.append(f"README command not covered by tests/readme_commands.sh: {command}")
        continue
    try:
        p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=LIMIT_S, env=USER_ENV)
        code, output = p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        code, output = f"timeout after {LIMIT_S} s", str(e.output or "")
    print(f"{how:9} {command}   -> exit {code}")
    # make run on a built tree shows the program, not make: its banner comes first.
    if argv[0] == "make" and "run" in argv and code == 0 and not output.startswith("configuration"):
        failures.append(f"make run printed something before the banner:\n" + output[:400])
    if code != 0:
        failures.append(f"README command failed (exit {code}): {command}\n  ran: {shlex.join(argv)}\n"
                        + "\n".join("  | " + l for l in output.splitlines()[-15:]))
if len(commands) < 10:
    failures.append(f"only {len(commands)} commands found in README.md: is the extraction broken?")
for f in failures:
    print(f, file=sys.stderr)
sys.exit(1 if failures else 0)
EOF
