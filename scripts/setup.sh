#!/usr/bin/env bash
# Installs everything the tests and the demo need, on a brand-new machine too.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v sftp >/dev/null || missing+=(openssh-client)
{ command -v jcmd >/dev/null && command -v javac >/dev/null; } || missing+=(openjdk-17-jdk-headless)
{ command -v alertmanager || command -v prometheus-alertmanager; } >/dev/null || missing+=(prometheus-alertmanager)
command -v promtool >/dev/null || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get -o Acquire::Retries=3 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o Acquire::Retries=3 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts these as system services on install; the project runs its own on loopback ports.
for svc in redis-server prometheus prometheus-alertmanager; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then systemctl stop "$svc" || true; fi
done

stamp=node_modules/.package-lock.stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  # npm ci, as the image's build (Paketo npm-install) runs it: a lock that is out of step with
  # package.json (e.g. missing another platform's optional binaries) fails here, not in the cluster.
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

# Java fixtures for the JVM tests and the demo.
if [ -d test/fixtures/java ]; then
  for src in test/fixtures/java/*.java; do
    [ -e "$src" ] || continue
    cls="${src%.java}.class"
    [ "$cls" -nt "$src" ] || javac -d test/fixtures/java "$src"
  done
fi
