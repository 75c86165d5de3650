#!/usr/bin/env bash
# Installs everything Gregor's build and tests need on Debian 12 (bookworm):
#   1. Debian packages (compiler, libraries, kcat, Java/Maven/Node only if missing),
#      libraft-dev from bookworm-backports (see docs: never bookworm's own 0.15.0)
#   2. Python test packages (tests/requirements.txt) into the first python3 on PATH
#   3. Node test clients (tests/node, from package-lock.json)
#   4. Apache Kafka ${GREGOR_KAFKA_VERSION:-4.1.1} jars from Maven Central into
#      ${GREGOR_CACHE:-~/.cache/gregor}/kafka-<version>/ (the reference broker and its tools)
#   5. The Java test client tests/java/client/target/gregor-java-client.jar
# Idempotent and safe to rerun; each step is skipped when its result is already there.
# Quiet unless something fails (then the failing command's output is shown).
# GREGOR_SETUP_VERBOSE=1 prints what it does.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_VERSION="${GREGOR_KAFKA_VERSION:-4.1.1}"
CACHE="${GREGOR_CACHE:-$HOME/.cache/gregor}"
KAFKA_DIR="$CACHE/kafka-$KAFKA_VERSION"
PYTHON="${PYTHON:-python3}"
export DEBIAN_FRONTEND=noninteractive

say() { if [[ -n "${GREGOR_SETUP_VERBOSE:-}" ]]; then echo "setup: $*" >&2; fi; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }

# quiet CMD...: runs CMD, shows its output only if it fails.
quiet() {
    local log rc
    log="$(mktemp)"
    if "$@" >"$log" 2>&1; then
        rm -f "$log"
    else
        rc=$?
        cat "$log" >&2
        rm -f "$log"
        die "command failed (exit $rc): $*"
    fi
}

SUDO=()
if [[ $EUID -ne 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: cannot install Debian packages"
    SUDO=(sudo)
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.setup.lock"
flock 9   # one setup at a time per cache

# ---------------------------------------------------------------- 1. Debian packages

APT_PKGS=(build-essential clang pkg-config libuv1-dev librdkafka-dev zlib1g-dev libsnappy-dev
          liblz4-dev libzstd-dev libssl-dev libcmocka-dev kcat python3 ca-certificates)
command -v java >/dev/null || APT_PKGS+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || APT_PKGS+=(maven)
command -v node >/dev/null || APT_PKGS+=(nodejs)
command -v npm >/dev/null || APT_PKGS+=(npm)

installed() { [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]; }

APT_UPDATED=
apt_update() {
    if [[ -z "$APT_UPDATED" ]]; then
        say "apt-get update"
        quiet "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q
        APT_UPDATED=1
    fi
}
apt_install() {
    quiet "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "$@"
}

missing=()
for p in "${APT_PKGS[@]}"; do
    installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
    apt_update
    say "apt-get install ${missing[*]}"
    apt_install "${missing[@]}"
fi

# libraft-dev >= 0.22 (cowsql/raft) from bookworm-backports; bookworm's 0.15.0 is unsafe.
raft_version="$(dpkg-query -W -f='${Version}' libraft-dev 2>/dev/null || true)"
if ! installed libraft-dev || ! dpkg --compare-versions "$raft_version" ge 0.22; then
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    if [[ "$codename" == bookworm ]]; then
        src=/etc/apt/sources.list.d/bookworm-backports.sources
        if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
            say "enabling bookworm-backports"
            printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' \
                'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
                "${SUDO[@]}" tee "$src" >/dev/null
            APT_UPDATED=
        fi
        apt_update
        say "apt-get install -t bookworm-backports libraft-dev"
        apt_install -t bookworm-backports libraft-dev
    else
        installed libraft-dev || { apt_update; apt_install libraft-dev; }
    fi
fi

# ---------------------------------------------------------------- 2. Python packages

command -v "$PYTHON" >/dev/null || die "$PYTHON not found"
REQ="$ROOT/tests/requirements.txt"
PY_STAMP="$CACHE/python-requirements.stamp"
py_key="$("$PYTHON" -c 'import sys; print(sys.executable, sys.version)') $(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ ! -f "$PY_STAMP" || "$(cat "$PY_STAMP")" != "$py_key" ]] ||
   ! "$PYTHON" -c 'import confluent_kafka, kafka, pytest' 2>/dev/null; then
    say "pip install -r tests/requirements.txt"
    if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
        apt_update
        apt_install python3-pip
    fi
    log="$(mktemp)"
    if ! "$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore -r "$REQ" >"$log" 2>&1; then
        if grep -q externally-managed-environment "$log"; then
            # a Debian system python (PEP 668); the test machine's pyenv python never gets here
            quiet "$PYTHON" -m pip install -q --disable-pip-version-check --break-system-packages -r "$REQ"
        else
            cat "$log" >&2
            rm -f "$log"
            die "pip install -r $REQ failed"
        fi
    fi
    rm -f "$log"
    echo "$py_key" >"$PY_STAMP"
fi

# ---------------------------------------------------------------- 3. Node packages

NODE_DIR="$ROOT/tests/node"
node_key="$(node --version) $(sha256sum "$NODE_DIR/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$NODE_DIR/node_modules/.gregor-stamp" || "$(cat "$NODE_DIR/node_modules/.gregor-stamp")" != "$node_key" ]]; then
    say "npm ci in tests/node"
    (cd "$NODE_DIR" && quiet npm ci --no-audit --no-fund --loglevel=error)
    echo "$node_key" >"$NODE_DIR/node_modules/.gregor-stamp"
fi

# ---------------------------------------------------------------- 4. Apache Kafka jars

DIST_POM="$ROOT/tests/java/kafka-dist/pom.xml"
dist_key="$KAFKA_VERSION $(sha256sum "$DIST_POM" | cut -d' ' -f1)"
if [[ ! -f "$KAFKA_DIR/.complete" || "$(cat "$KAFKA_DIR/.complete")" != "$dist_key" ]]; then
    say "resolving Apache Kafka $KAFKA_VERSION into $KAFKA_DIR"
    tmp="$KAFKA_DIR.tmp.$$"
    trap 'rm -rf "$tmp"' EXIT
    rm -rf "$tmp"
    quiet mvn -q -B -f "$DIST_POM" -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DoutputDirectory="$tmp"
    ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "kafka_2.13-$KAFKA_VERSION.jar was not resolved"
    rm -rf "$KAFKA_DIR"
    mv "$tmp" "$KAFKA_DIR"
    echo "$dist_key" >"$KAFKA_DIR/.complete"
fi

# ---------------------------------------------------------------- 5. Java test client

CLIENT_DIR="$ROOT/tests/java/client"
CLIENT_JAR="$CLIENT_DIR/target/gregor-java-client.jar"
CLIENT_STAMP="$CLIENT_DIR/target/.gregor-stamp"
if [[ ! -f "$CLIENT_JAR" || ! -f "$CLIENT_STAMP" || "$(cat "$CLIENT_STAMP")" != "$KAFKA_VERSION" ]] ||
   [[ -n "$(find "$CLIENT_DIR/pom.xml" "$CLIENT_DIR/src" -newer "$CLIENT_JAR" -print -quit)" ]]; then
    say "building tests/java/client"
    quiet mvn -q -B -f "$CLIENT_DIR/pom.xml" -Dkafka.version="$KAFKA_VERSION" package
    echo "$KAFKA_VERSION" >"$CLIENT_STAMP"
fi

say "done"
