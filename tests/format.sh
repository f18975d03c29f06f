#!/usr/bin/env bash
# The C++ sources follow .clang-format (Google style, 100 columns): clang-format --dry-run
# -Werror on every tracked .cpp and .h. `make format` rewrites them in place. Usage:
# tests/format.sh BUILD_DIR (the argument is unused; every script test takes it)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format is missing: run make setup" >&2; exit 1; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cpp' '*.h')
else
  mapfile -t files < <(find src include tests -name '*.cpp' -o -name '*.h')
fi
[ "${#files[@]}" -ge 50 ] || { echo "only ${#files[@]} C++ files found" >&2; exit 1; }
clang-format --dry-run -Werror "${files[@]}"
echo "${#files[@]} files follow .clang-format ($(clang-format --version))"
