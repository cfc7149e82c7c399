#!/usr/bin/env bash
# Posts a CloudEvent (binary mode) to the heapdump Broker:
#   examples/send-event.sh <type> <data.json> [subject]
# BROKER defaults to the in-cluster ingress of the heapdump Broker; with a port-forward
# (kubectl -n knative-eventing port-forward svc/broker-ingress 8080:80) use
#   BROKER=http://127.0.0.1:8080/heapdump/heapdump
set -euo pipefail
type="$1" data="$2" subject="${3:-}"
broker="${BROKER:-http://broker-ingress.knative-eventing.svc.cluster.local/heapdump/heapdump}"
source="${SOURCE:-/heapdump/curl}"
id="${ID:-$(cat /proc/sys/kernel/random/uuid 2>/dev/null || date +%s%N)}"
curl --fail-with-body -sS -i "$broker" \
  -H 'Ce-Specversion: 1.0' \
  -H "Ce-Type: $type" \
  -H "Ce-Source: $source" \
  -H "Ce-Id: $id" \
  ${subject:+-H "Ce-Subject: $subject"} \
  -H 'Content-Type: application/json' \
  --data-binary "@$data"
echo
echo "sent $type id=$id"
