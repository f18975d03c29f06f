#!/usr/bin/env bash
# Runs a hogwild_train job (alone, or under mpirun) and, when it fails in a way a restart can
# cure, runs it again from its last checkpoint with --resume, at most N times.
#
#   scripts/resumable.sh [--restarts N] COMMAND [ARGS...]        (N: 3)
#
# ARGS must hold --save-model FILE, where the job writes its checkpoints (add
# --checkpoint-every E so that a failure costs at most E epochs). Retried: any other failure
# (a rank, a worker's parent or the whole job killed, a hang ended by --sync-timeout) once the
# job has written FILE. Never retried: success, bad input (exit 2), a stop that was asked for
# (Ctrl-C or SIGTERM to this script; the job's own exit 130 or 143), or no checkpoint yet.
# Exits with the last attempt's code.
set -uo pipefail

restarts=3
if [ "${1:-}" = "--restarts" ]; then
  restarts=${2:-}
  shift 2 || true
fi
if ! [[ "$restarts" =~ ^[0-9]+$ ]] || [ $# -eq 0 ]; then
  echo "usage: scripts/resumable.sh [--restarts N] COMMAND [ARGS...]  (ARGS with --save-model FILE)" >&2
  exit 2
fi

# The checkpoint file, and the command without any --resume / --init-from (a restart adds its own).
checkpoint=""
command=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --save-model) checkpoint=${args[i + 1]:-} ;;
    --save-model=*) checkpoint=${args[i]#--save-model=} ;;
  esac
  case "${args[i]}" in
    --resume | --init-from) ((i++)); continue ;;
    --resume=* | --init-from=*) continue ;;
  esac
  command+=("${args[i]}")
done
if [ -z "$checkpoint" ]; then
  echo "resumable.sh: the command needs --save-model FILE: the checkpoint a restart resumes from" >&2
  exit 2
fi

# Only a checkpoint this job wrote counts, not a file left by an earlier run. hogwild_train
# saves by rename, so every save is a new file: after each attempt, compare the file's inode
# and time with what they were before it (a freed inode may come back later, but not while
# the file it replaces still holds it). A time alone can repeat: the kernel stamps files from
# a clock with a grain of milliseconds, and a clock may step back.
checkpoint_state() { stat -c '%i %y' -- "$checkpoint" 2>/dev/null; }
before=$(checkpoint_state)
saved=0
child=0
stopped=0
forward() {
  stopped=1
  [ "$child" -gt 0 ] && kill -s "$1" "$child" 2>/dev/null
}
trap 'forward INT' INT
trap 'forward TERM' TERM

# Job control: the job runs in a process group of its own, so a Ctrl-C at the terminal reaches
# it once, through this script, not twice (a second signal ends hogwild_train at once).
set -m
attempt=0
run=("$@")
while :; do
  "${run[@]}" &
  child=$!
  wait "$child"
  code=$?
  # A trapped signal interrupts wait: wait again for the job's own end.
  while kill -0 "$child" 2>/dev/null; do
    wait "$child"
    code=$?
  done
  child=0
  if [ "$code" -eq 0 ] || [ "$code" -eq 2 ] || [ "$code" -eq 130 ] || [ "$code" -eq 143 ] || [ "$stopped" -eq 1 ]; then
    exit "$code"
  fi
  now=$(checkpoint_state)
  if [ -n "$now" ] && [ "$now" != "$before" ]; then saved=1; fi
  before=$now
  if [ "$saved" -eq 0 ]; then
    echo "resumable.sh: the job failed (exit $code) before its first checkpoint; not restarted" >&2
    exit "$code"
  fi
  if [ "$attempt" -ge "$restarts" ]; then
    echo "resumable.sh: the job failed (exit $code); $restarts of $restarts restarts used" >&2
    exit "$code"
  fi
  attempt=$((attempt + 1))
  echo "resumable.sh: the job failed (exit $code); restarting it from $checkpoint (restart $attempt of $restarts)" >&2
  run=("${command[@]}" --resume "$checkpoint")
done
