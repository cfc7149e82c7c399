/**
 * heapdump doctor: a read-only preflight of a cluster for knative-heapdump (like `linkerd check`): reads
 * through the user's kubeconfig with @kubernetes/client-node, asks SubjectAccessReviews, never writes.
 * One module per check under checks/; run.ts orders them, report.ts prints them.
 *
 * Its tests (test/doctor/) run it against the project's Kubernetes API emulator (dev/kube-emulator),
 * loaded with our rendered manifests and status shapes taken from upstream's test data: that checks our
 * reading of the APIs, not a real cluster (test/cluster/run.sh runs it against one).
 */
export type { CheckResult, DoctorOptions, Outcome } from './check.ts';
export { createClusterReader } from './cluster.ts';
export { formatReport, reportJson } from './report.ts';
export { allChecks, type DoctorReport, runDoctor } from './run.ts';
export { kubectlKustomize, loadShipped, type Render } from './shipped.ts';
