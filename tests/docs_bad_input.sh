#!/usr/bin/env bash
# docs/reliability.md's bad-input table says what the binary says. Usage:
# tests/docs_bad_input.sh BUILD_DIR
#
# Every row whose first column starts with a runnable example (`--flag value ...`) runs it;
# the run must exit 2 with one line on stderr, "hogwild_train: error: " and the row's message,
# where "(...)" and "..." in the table stand for any text. The other rows (MPI jobs, a lone
# flag, placeholder files such as F) are listed as not run; at least 15 rows must be checked.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
exec python3 - "$build/hogwild_train" "$src/docs/reliability.md" <<'EOF'
import re, shlex, subprocess, sys

train, doc = sys.argv[1:3]
text = open(doc).read()
table = text.split("## Bad input", 1)[1].split("\n## ", 1)[0]
checked, failures = 0, []
for row in table.splitlines():
    cells = [c.strip() for c in row.strip().strip("|").split("|")] if row.startswith("| ") else []
    if len(cells) != 2 or cells[0] in ("bad input", "---"):
        continue
    example = re.match(r"`(--[^`]*)`", cells[0])
    message = re.match(r"`([^`]*)`", cells[1])
    if not example or not message:
        print(f"not run  {cells[0][:70]}")
        continue
    args = shlex.split(example.group(1))
    # A lone flag ("`--config` missing") or a placeholder file (F, DIR) is prose, not a command.
    if (len(args) < 2 or re.search(r"\b(F|DIR|PATH)\b", example.group(1))
            or re.search(r"\b(F|DIR)\b", message.group(1))):
        print(f"not run  {cells[0][:70]}")
        continue
    pattern = re.escape(message.group(1)).replace(re.escape("(...)"), r"\(.*\)")
    pattern = pattern.replace(re.escape("..."), ".*")
    p = subprocess.run([train] + args, capture_output=True, text=True, timeout=60)
    lines = p.stderr.splitlines()
    ok = (p.returncode == 2 and len(lines) == 1
          and re.fullmatch("hogwild_train: error: " + pattern, lines[0]) is not None)
    checked += 1
    print(f"{'ok' if ok else 'DIFFERS':8} {example.group(1)}")
    if not ok:
        failures.append(f"docs/reliability.md: `{example.group(1)}` is documented as\n"
                        f"  {message.group(1)}\nbut exits {p.returncode} with stderr\n  {p.stderr.strip()}")
if checked < 15:
    failures.append(f"only {checked} rows of the bad-input table were checked: is the table still there?")
for f in failures:
    print(f, file=sys.stderr)
sys.exit(1 if failures else 0)
EOF
