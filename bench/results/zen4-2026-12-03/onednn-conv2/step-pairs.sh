#!/usr/bin/env bash
# hogwild_step --batch B (bf16, one core): old / new / sgd back to back, 12 rounds; prints
# each round and the medians of the per-round ratios (drift moves all three of a round alike).
b=${1:-32}; steps=${2:-150}
for r in $(seq 12); do
  line="$r"
  for v in old new sgd; do
    line="$line $(/tmp/hs_$v --batch $b --precision bf16 --steps $steps --data-dir /work/main/data/mnist | sed -n 's/.*: \([0-9]*\) samples\/s.*/\1/p')"
  done
  echo "$line"
done | awk -v b="$b" '{print; n++; rn[n] = $3 / $2; rs[n] = $4 / $2; o[n] = $2; w[n] = $3; s[n] = $4}
  function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  END { printf "batch %d medians: old %d new %d sgd %d samples/s; new/old %.3f sgd/old %.3f (per-round ratios)\n", b, med(o, n), med(w, n), med(s, n), med(rn, n), med(rs, n) }'
