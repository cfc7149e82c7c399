import { type EventType, EventTypes, type InputOf } from './schemas.ts';

/**
 * One valid data sample per event type: the contract tests round-trip them through the cloudevents SDK,
 * and other tests start from them instead of writing their own.
 */
const target = {
  namespace: 'shop',
  pod: 'checkout-7d9f8-abcde',
  uid: '0b9c7a6e-1f0e-4d7a-9d5c-2f1e0a9b8c7d',
  container: 'app',
  node: 'node-1',
};
const leases = [
  { pool: 'dump' as const, leaseId: '6f1c2b1e-8a9d-4c3e-b2a1-0f9e8d7c6b5a', fence: 7 },
  { pool: 'upload' as const, leaseId: '7a2d3c2f-9b0e-4d4f-c3b2-1a0f9e8d7c6b', fence: 3 },
];
const dumpId = '3d6e1f2a-4b5c-4d7e-8f9a-0b1c2d3e4f5a';
const files = [
  { path: '/dumps/20261123T101500Z_3d6e1f2a-4b5c-4d7e-8f9a-0b1c2d3e4f5a.hprof', bytes: 1_434_000_000 },
];
const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: target.pod,
    namespace: target.namespace,
    uid: target.uid,
    labels: { 'heapdump.dev/enabled': 'true' },
  },
  spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'eclipse-temurin:17' }] },
  status: {
    phase: 'Running',
    containerStatuses: [
      {
        name: 'app',
        restartCount: 1,
        ready: true,
        state: { running: { startedAt: '2026-11-23T10:14:00Z' } },
        lastState: {
          terminated: {
            exitCode: 137,
            reason: 'OOMKilled',
            startedAt: '2026-11-23T09:00:00Z',
            finishedAt: '2026-11-23T10:13:59Z',
          },
        },
      },
    ],
  },
};

export const samples: { [T in EventType]: InputOf<T> } = {
  [EventTypes.alertFiring]: {
    alertname: 'HighMemoryUsage',
    namespace: 'shop',
    pod: target.pod,
    container: 'app',
    severity: 'warning',
    startsAt: '2026-11-23T10:14:30.123Z',
    fingerprint: 'a1b2c3d4e5f60718',
    labels: { alertname: 'HighMemoryUsage', namespace: 'shop', pod: target.pod },
    annotations: { summary: 'memory above 80% of the limit' },
    groupKey: '{}:{alertname="HighMemoryUsage"}',
  },
  [EventTypes.podAdded]: pod,
  [EventTypes.podUpdated]: pod,
  [EventTypes.podDeleted]: pod,
  [EventTypes.dumpRequested]: {
    namespace: 'shop',
    pod: target.pod,
    container: 'app',
    reason: 'support ticket 42',
  },
  [EventTypes.dumpApproved]: {
    dumpId,
    target,
    mode: 'live',
    reason: 'HighMemoryUsage',
    trigger: {
      type: EventTypes.alertFiring,
      id: 'a1b2c3d4e5f60718:2026-11-23T10:14:30.123Z',
      reason: 'alert',
    },
    leases,
  },
  [EventTypes.dumpDeferred]: { dumpId, target, mode: 'live', position: 3 },
  [EventTypes.dumpSkipped]: { target: { namespace: 'shop', pod: target.pod }, reason: 'already-dumped' },
  [EventTypes.dumpCaptured]: {
    dumpId,
    target,
    mode: 'live',
    files,
    metadata: { jvm: { version: '17.0.15' } },
    leases,
  },
  [EventTypes.uploadProgressed]: {
    dumpId,
    target,
    mode: 'live',
    files,
    metadata: {},
    leases,
    checkpoint: { fileIndex: 0, offset: 268_435_456, segments: 4, storedBytes: 90_000_000 },
    bytesDone: 268_435_456,
    bytesTotal: 1_434_000_000,
  },
  [EventTypes.dumpUploaded]: {
    dumpId,
    target,
    location: { backend: 'sftp', uri: 'sftp://dumps.example/heapdumps/shop/checkout/app/x.hprof.gz' },
    rawBytes: 1_434_000_000,
    storedBytes: 480_000_000,
    sha256: 'a'.repeat(64),
    seconds: 21.5,
    leases,
  },
  [EventTypes.dumpFailed]: {
    dumpId,
    target,
    stage: 'upload',
    error: { code: 'storage-unavailable', message: 'sftp: connection refused' },
    leases,
    fileKept: true,
  },
  [EventTypes.tokenReleased]: { pools: ['dump', 'upload'], leaseIds: leases.map((l) => l.leaseId) },
  [EventTypes.sweep]: {},
};
