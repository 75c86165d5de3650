#!/usr/bin/env bash
# Every test Gregor has, in order: setup (installs what is missing), build
# with gcc and clang, unit tests, unit tests under ASan+UBSan, the fuzz
# smoke run, then the integration tests against real broker processes and
# real Kafka clients (and the reference Apache Kafka).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
echo "== build (gcc)"
make -s -j2
echo "== build (clang, warnings as errors)"
make -s -j2 B=build/clang CC=clang build/clang/gregor
echo "== unit tests"
make -s -j2 unit
echo "== unit tests under ASan+UBSan"
make -s -j2 asan
if [ -x scripts/fuzz.sh ]; then
    echo "== fuzz (bounded)"
    bash scripts/fuzz.sh
fi
echo "== integration tests"
python3 -m pytest -q -p no:cacheprovider tests/integration "$@"
