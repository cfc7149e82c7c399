#!/usr/bin/env bash
# The real-cluster check: on a kind cluster with pinned Knative and kube-prometheus-stack (default
# values), deploys knative-heapdump exactly as docs/deploy.md says and asserts, against the real parts:
#   1. the shipped rule fires for a leaking JVM and Alertmanager routes it to alert-bridge;
#   2. a verified .hprof.gz is stored on the SFTP server (gzip -t, gunzipped sha256 = its .json);
#   3. deleting the upload-dump pod mid-upload resumes to the same sha256;
#   4. `heapdump doctor` passes, then names a deliberately broken precondition.
# Needs: kind cluster (current context), docker, kubectl, helm, func, jq, node/npm; run from the
# repository root. NOT executed on the project's own machines (no container runtime there): it runs in
# .github/workflows/cluster.yaml. Every step prints what it waits for; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/../.."

KNATIVE_VERSION="${KNATIVE_VERSION:-knative-v1.19.6}"   # Serving and Eventing
KOURIER_VERSION="${KOURIER_VERSION:-knative-v1.19.0}"
KPS_VERSION="${KPS_VERSION:-79.12.0}"                    # kube-prometheus-stack, default values
KIND_CLUSTER="${KIND_CLUSTER:-heapdump}"
# kind.local: a registry Knative Serving does not resolve tags for (config-deployment
# registries-skipping-tag-resolving), so the image kind load put on the node is used as it is.
IMAGE="${IMAGE:-kind.local/heapdump:cluster-check}"
NS=heapdump
APP_NS=heapdump-example
GH=https://github.com/knative

step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
# until <seconds> <description> <command...>: polls every 5 s
until_ok() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "$what (waited ${limit}s)"
    sleep 5
  done
  echo "ok: $what"
}

step "Knative Serving $KNATIVE_VERSION with Kourier, Eventing $KNATIVE_VERSION with the MT Broker"
kubectl apply -f "$GH/serving/releases/download/$KNATIVE_VERSION/serving-crds.yaml"
kubectl apply -f "$GH/serving/releases/download/$KNATIVE_VERSION/serving-core.yaml"
kubectl apply -f "$GH/net-kourier/releases/download/$KOURIER_VERSION/kourier.yaml"
kubectl patch configmap/config-network -n knative-serving --type merge \
  -p '{"data":{"ingress-class":"kourier.ingress.networking.knative.dev"}}'
kubectl apply -f "$GH/eventing/releases/download/$KNATIVE_VERSION/eventing-crds.yaml"
kubectl apply -f "$GH/eventing/releases/download/$KNATIVE_VERSION/eventing-core.yaml"
kubectl apply -f "$GH/eventing/releases/download/$KNATIVE_VERSION/in-memory-channel.yaml"
kubectl apply -f "$GH/eventing/releases/download/$KNATIVE_VERSION/mt-channel-broker.yaml"
for ns in knative-serving knative-eventing kourier-system; do
  kubectl wait deployment --all -n "$ns" --for=condition=Available --timeout=300s
done

step "kube-prometheus-stack $KPS_VERSION with its default values"
helm repo add prometheus-community https://prometheus-community.github.io/helm-charts >/dev/null
helm upgrade --install kps prometheus-community/kube-prometheus-stack --version "$KPS_VERSION" \
  -n monitoring --create-namespace --wait --timeout 10m

step "the image, built from the Containerfile and loaded into kind"
docker build -f Containerfile -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$KIND_CLUSTER"

step "infra, secrets, functions, eventing: docs/deploy.md steps 2-5"
kubectl apply -k infra/
kubectl apply -k test/cluster/alerting/   # infra/alerting/prometheus-operator + release: kps
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
kubectl -n $NS create secret generic heapdump-redis --from-literal=token="$(openssl rand -hex 32)"
ssh-keygen -q -t ed25519 -N '' -C heapdump-sftp -f "$tmp/sftp_host"
ssh-keygen -q -t ed25519 -N '' -C upload-dump -f "$tmp/upload_dump"
kubectl -n $NS create secret generic heapdump-sftp-server \
  --from-file=ssh_host_ed25519_key="$tmp/sftp_host" --from-file=authorized_key.pub="$tmp/upload_dump.pub"
kubectl -n $NS create secret generic heapdump-sftp-client \
  --from-file=id_ed25519="$tmp/upload_dump" --from-file=host_key.pub="$tmp/sftp_host.pub"
ALERT_TOKEN="$(openssl rand -hex 32)"
for ns in $NS $APP_NS; do
  kubectl -n "$ns" create secret generic heapdump-alert-bridge --from-literal=token="$ALERT_TOKEN"
done
kubectl -n $NS rollout status statefulset --timeout=300s
kubectl -n $NS rollout status deployment --timeout=300s
# kind serves a local image only by tag; func deploy wants a digest for --build=false, so the check
# deploys the same func.yaml copies with the tag and pull policy from the node (--build=false is kept).
for fn in alert-bridge decide-dump exec-dump upload-dump release-token; do
  dir="$tmp/$fn"; mkdir -p "$dir" && cp "functions/$fn/func.yaml" "$dir/"
  func deploy --path "$dir" --build=false --push=false --image "$IMAGE"
done
kubectl apply -k eventing/
until_ok 300 "Broker and Triggers ready" \
  sh -c "! kubectl -n $NS get broker,triggers -o jsonpath='{range .items[*]}{.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}' | grep -v True"

step "the operator CLI's view: Redis REST endpoint and Broker ingress forwarded to loopback"
kubectl -n $NS port-forward svc/heapdump-redis-http 18080:80 >/dev/null &
kubectl -n knative-eventing port-forward svc/broker-ingress 18081:80 >/dev/null &
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
export REDIS_REST_URL=http://127.0.0.1:18080 HEAPDUMP_BROKER_URL=http://127.0.0.1:18081/$NS/$NS
REDIS_REST_TOKEN="$(kubectl -n $NS get secret heapdump-redis -o jsonpath='{.data.token}' | base64 -d)"
export REDIS_REST_TOKEN
until_ok 60 "Redis REST endpoint forwarded" curl -sf -H "Authorization: Bearer $REDIS_REST_TOKEN" "$REDIS_REST_URL/ping"

step "doctor passes on the deployed stack"
npx heapdump doctor

step "a leaking JVM: the shipped rule fires and Alertmanager routes it"
kubectl -n $APP_NS rollout status deployment/java-leak --timeout=300s
prom() { kubectl -n monitoring exec "$(kubectl -n monitoring get pod -l app.kubernetes.io/name=prometheus -o name | head -1)" \
  -c prometheus -- wget -qO- "http://127.0.0.1:9090/api/v1/$1"; }
until_ok 900 "HighMemoryUsage firing in Prometheus" \
  sh -c "$(declare -f prom); prom 'alerts' | jq -e '.data.alerts[] | select(.labels.alertname==\"HighMemoryUsage\" and .state==\"firing\")'"
until_ok 300 "alert-bridge called by Alertmanager" \
  sh -c "kubectl -n $NS logs -l serving.knative.dev/service=alert-bridge -c user-container --tail=-1 | grep -q forwarded"

step "a verified .hprof.gz on the SFTP server"
sftp_exec() { kubectl -n $NS exec deployment/heapdump-sftp -c sftp -- "$@"; }
until_ok 900 "a stored dump" sh -c "$(declare -f sftp_exec); sftp_exec sh -c 'ls /home/heapdump/dumps/$APP_NS/*/*/*.hprof.gz'"
verify() {
  local gz; gz="$(sftp_exec sh -c "ls /home/heapdump/dumps/$APP_NS/*/*/*.hprof.gz | tail -1")"
  sftp_exec gzip -t "$gz"
  local want got
  want="$(sftp_exec cat "${gz%.hprof.gz}.json" | jq -r '.rawSha256')"
  got="$(sftp_exec sh -c "gzip -dc '$gz' | sha256sum | cut -d' ' -f1")"
  [ "$want" = "$got" ] || fail "stored dump $gz: gunzipped sha256 $got, its .json says $want"
  echo "ok: $gz verified ($got)"
}
verify

step "upload-dump deleted mid-upload: the redelivery resumes to the same sha256"
npx heapdump reset --container "$APP_NS/$(kubectl -n $APP_NS get pod -l app.kubernetes.io/name=java-leak -o jsonpath='{.items[0].metadata.name}')/app"
npx heapdump trigger "$APP_NS/$(kubectl -n $APP_NS get pod -l app.kubernetes.io/name=java-leak -o jsonpath='{.items[0].metadata.name}')" -c app
until_ok 600 "upload-dump uploading" sh -c "npx heapdump list --json | jq -e '.[] | select(.state==\"uploading\")'"
kubectl -n $NS delete pod -l serving.knative.dev/service=upload-dump --wait=false
until_ok 900 "the second dump stored" sh -c "[ \$(npx heapdump list --json | jq '[.[] | select(.state==\"uploaded\")] | length') -ge 2 ]"
verify

step "doctor names a broken precondition"
kubectl -n $NS delete secret heapdump-sftp-client
if npx heapdump doctor; then fail "doctor passed without the heapdump-sftp-client Secret"; fi
echo "ok: doctor flagged the missing Secret"
echo; echo "cluster check passed"
