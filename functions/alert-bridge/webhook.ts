import { z } from 'zod';
import { BadRequestError, describeZodError } from '../lib/errors.ts';
import { AlertFiring, type InputOf } from '../lib/events/index.ts';

/** Alertmanager's webhook payload, version 4; only the fields we read are checked, the rest is carried. */
const Webhook = z.looseObject({
  version: z.literal('4', 'only Alertmanager webhook version "4" is understood').optional(),
  status: z.string().optional(),
  receiver: z.string().optional(),
  groupKey: z.string().optional(),
  alerts: z.array(z.unknown()),
});

const Alert = z.looseObject({
  status: z.string(),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string(),
  fingerprint: z.string(),
});

export interface Dropped {
  resolved: number;
  noPod: number;
  invalid: number;
}

export interface Sorted {
  /** One alert.firing per firing alert that names a pod, with its stable id `<fingerprint>:<startsAt>`. */
  firing: Array<{ id: string; data: InputOf<'dev.heapdump.alert.firing'> }>;
  dropped: Dropped;
  /** Why each invalid alert was dropped, for the log. */
  problems: string[];
}

/** Reads a request body (parsed JSON, or raw text under another content type) as a webhook payload. */
export function parseWebhook(body: unknown): z.infer<typeof Webhook> {
  let payload = body;
  if (Buffer.isBuffer(payload)) payload = payload.toString('utf8');
  if (typeof payload === 'string') {
    try {
      payload = JSON.parse(payload);
    } catch (error) {
      throw new BadRequestError(`the body is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (payload === undefined || payload === null || payload === '') {
    throw new BadRequestError('the body is empty; expected an Alertmanager webhook (JSON)');
  }
  const parsed = Webhook.safeParse(payload);
  if (!parsed.success) {
    throw new BadRequestError(`not an Alertmanager webhook: ${describeZodError(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * Sorts a webhook's alerts: firing alerts naming a namespace and a pod become events; resolved ones,
 * pod-less ones and ones whose labels are not valid Kubernetes names are counted and dropped, so one bad
 * alert never fails the batch.
 */
export function sortAlerts(webhook: z.infer<typeof Webhook>): Sorted {
  const sorted: Sorted = { firing: [], dropped: { resolved: 0, noPod: 0, invalid: 0 }, problems: [] };
  webhook.alerts.forEach((raw, index) => {
    const alert = Alert.safeParse(raw);
    if (!alert.success) {
      sorted.dropped.invalid++;
      sorted.problems.push(`alerts.${index}: ${describeZodError(alert.error)}`);
      return;
    }
    const { status, labels, annotations, startsAt, fingerprint } = alert.data;
    if (status !== 'firing') {
      sorted.dropped.resolved++;
      return;
    }
    if (!labels.namespace || !labels.pod) {
      sorted.dropped.noPod++;
      return;
    }
    const data = AlertFiring.safeParse({
      alertname: labels.alertname,
      namespace: labels.namespace,
      pod: labels.pod,
      container: labels.container || undefined,
      severity: labels.severity,
      startsAt,
      fingerprint,
      labels,
      annotations,
      groupKey: webhook.groupKey,
    });
    if (!data.success) {
      sorted.dropped.invalid++;
      sorted.problems.push(`alerts.${index}: ${describeZodError(data.error)}`);
      return;
    }
    sorted.firing.push({ id: `${fingerprint}:${startsAt}`, data: data.data });
  });
  return sorted;
}
