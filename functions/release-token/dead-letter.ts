import type { AnyCloudEvent } from '../lib/events/index.ts';
import { deadLetterOnlyTypes } from './meta.ts';

/** Knative base64-encodes at most 1024 bytes of the failed answer; we keep no more than that. */
const MAX_BODY_CHARS = 1024;

/** Why the Broker gave up on an event: the knativeerror* extensions a dead letter carries. */
export interface DeadLetter {
  /** The subscriber that failed (its URL), when Knative could tell. */
  destination?: string;
  /** Its last HTTP status; absent when the attempt timed out. */
  status?: number;
  /** The start of its answer, decoded from knativeerrordata. */
  body?: string;
}

/**
 * The dead-letter facts of an event, or undefined when it is an ordinary delivery. Types that no Trigger
 * routes here are dead letters even without extensions: a timed-out attempt leaves Knative nothing to add.
 */
export function deadLetterOf(event: AnyCloudEvent): DeadLetter | undefined {
  const { knativeerrordest, knativeerrorcode, knativeerrordata } = event as Record<string, unknown>;
  const marked = [knativeerrordest, knativeerrorcode, knativeerrordata].some((value) => value !== undefined);
  if (!marked && !(deadLetterOnlyTypes as readonly string[]).includes(event.type)) return undefined;
  const status = Number(knativeerrorcode);
  return {
    destination: typeof knativeerrordest === 'string' && knativeerrordest ? knativeerrordest : undefined,
    status: Number.isInteger(status) && status > 0 ? status : undefined,
    body: decodeBody(knativeerrordata),
  };
}

function decodeBody(data: unknown): string | undefined {
  if (typeof data !== 'string' || data === '') return undefined;
  const text = Buffer.from(data, 'base64')
    .toString('utf8')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ')
    .trim();
  return text ? text.slice(0, MAX_BODY_CHARS) : undefined;
}

/** One line for the dump record: who failed, with what status, and what it said. */
export function describeDeadLetter(letter: DeadLetter, gaveUpOn: string): string {
  const who = letter.destination ?? 'the subscriber';
  const answer =
    letter.status === undefined
      ? `${who} gave no answer in time`
      : `${who} answered ${letter.status}${letter.body ? `: ${letter.body}` : ''}`;
  return `dead letter: the Broker gave up delivering ${gaveUpOn} after its retries; ${answer}`;
}
