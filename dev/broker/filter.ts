import { type Event, extensionsOf } from './cloudevent-http.ts';

/**
 * Knative's attributes filter (pkg/eventfilter/attributes): every filter attribute must exist on the event and
 * equal the filter value exactly; an empty filter value matches any value; an empty filter matches every event.
 * Context attributes always exist (possibly empty); extensions exist only when set.
 */
export function matchesFilter(filter: Record<string, string>, event: Event): boolean {
  const attributes: Record<string, unknown> = {
    specversion: event.specversion,
    type: event.type,
    source: event.source,
    subject: event.subject ?? '',
    id: event.id,
    time: event.time ?? '',
    schemaurl: event.dataschema ?? '',
    datacontenttype: event.datacontenttype ?? '',
    ...extensionsOf(event),
  };
  return Object.entries(filter).every(
    ([name, expected]) => name in attributes && (expected === '' || String(attributes[name]) === expected),
  );
}
