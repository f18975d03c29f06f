#!/usr/bin/env bash
# Carry this build to a bare x86-64 Linux machine (glibc >= 2.36) that has neither Debian's
# LibTorch nor the data: one .tar.xz with hogwild_train, hogwild_step, another build's
# hogwild_train to compare against (bin/hogwild_train.base), every library they load, gzipped
# MNIST and bench/bundle/sitting.sh. Used for the Xeon AMX sitting (docs/training-step.md).
# Libraries the training never calls (OpenCV, FFmpeg, LAPACK, ZeroMQ: libtorch links them for
# Caffe2's ops; MPI: only under mpirun) travel as stand-ins with the same soname and symbols and
# no code (make_stub.py; a call would stop on ud2), which brings 500 MB of libraries to ~50 MB.
# Usage: bench/bundle/pack.sh OUT.tar.xz BASE_HOGWILD_TRAIN [BUILD=build]
# There: tar -xJf OUT.tar.xz -C DIR && DIR/pk/bin/sitting.sh DIR/pk DIR/data/mnist LOGDIR
# (or DIR/pk/bin/many_cores.sh, same arguments: the sweep to 16 CPUs and what limits it)
set -euo pipefail
tarball=$(realpath -m "$1") base=$(realpath "$2") build=${3:-build}
cd "$(dirname "$0")/../.."
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pk=$stage/pk
mkdir -p "$pk/lib" "$pk/bin" "$stage/stub" "$stage/data/mnist"
cp "$build/hogwild_train" "$build/hogwild_step" bench/bundle/sitting.sh bench/bundle/many_cores.sh \
  configs/mnist.toml "$pk/bin/"
cp "$base" "$pk/bin/hogwild_train.base"
stub_re='^lib(opencv_[a-z0-9]+|av(codec|format|util)|sw(scale|resample)|lapack|zmq|mpi)\.'
system_re='^(libc|libm|libpthread|libdl|librt|ld-linux-x86-64)\.so'  # glibc: the machine's own
cache=$(/sbin/ldconfig -p)
declare -A seen=()
queue=("$build/hogwild_train" "$build/hogwild_step" "$base")
while ((${#queue[@]})); do
  f=${queue[0]}; queue=("${queue[@]:1}")
  for so in $(readelf -d "$f" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
    [[ -n ${seen[$so]:-} || $so =~ $system_re ]] && continue
    seen[$so]=1
    path=$(awk -v s="$so" '$1 == s && /x86-64/ {print $NF; exit}' <<<"$cache")
    [[ -n $path ]] || { echo "pack.sh: $so (needed by $f) is not installed" >&2; exit 1; }
    if [[ $so =~ $stub_re ]]; then
      /usr/bin/python3 bench/bundle/make_stub.py "$path" "$stage/stub/$so.s" "$stage/stub/$so.map"
      gcc -shared -nostdlib -o "$pk/lib/$so" -Wl,-soname,"$so" \
        -Wl,--version-script="$stage/stub/$so.map" "$stage/stub/$so.s"
    else
      cp -L "$path" "$pk/lib/$so"
      queue+=("$path")
    fi
  done
done
for f in data/mnist/*-ubyte; do gzip -9 -c "$f" > "$stage/data/mnist/$(basename "$f").gz"; done
tar -C "$stage" -cf - pk data | xz -T0 -6 > "$tarball"
echo "$tarball: $(ls "$pk/lib" | wc -l) libraries, $(du -h "$tarball" | cut -f1)"
