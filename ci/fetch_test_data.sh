#!/usr/bin/env bash
# GitHub runners have no ../shared/: fetch UCI's bank.zip there once, where the tests look for it.
set -euo pipefail
target="$(cd "$(dirname "$0")/../.." && pwd)/shared/data/bank-marketing"
mkdir -p "$target"
if [ ! -f "$target/bank.zip" ]; then
  curl --fail --silent --show-error --location --retry 4 \
    -o "$target/bank.zip" https://archive.ics.uci.edu/ml/machine-learning-databases/00222/bank.zip
fi
echo "CML_MLOPS_TEST_DATA_ZIP=$target/bank.zip" >> "${GITHUB_ENV:-/dev/null}"
