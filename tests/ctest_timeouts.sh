#!/usr/bin/env bash
# Every ctest test has a TIMEOUT of at most 600 s, so that no hang can stall CI: read from
# ctest's own JSON listing of the build tree given as $1.
set -euo pipefail
build=$1
(cd "$build" && ctest --show-only=json-v1) | /usr/bin/python3 -c '
import json, sys
tests = json.load(sys.stdin)["tests"]
bad = []
for t in tests:
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    limit = props.get("TIMEOUT")
    if limit is None or not 0 < float(limit) <= 600:
        bad.append("%s: TIMEOUT %s" % (t["name"], limit))
for line in bad:
    print("no usable timeout:", line)
print("%d of %d tests have a TIMEOUT of at most 600 s" % (len(tests) - len(bad), len(tests)))
sys.exit(1 if bad or not tests else 0)
'
