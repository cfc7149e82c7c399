import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { TraceEntry } from '../../dev/broker/index.ts';
import { action, CliError, cliEnv, ExitCode, printJson, requireVar } from '../context.ts';

interface EventNode {
  id: string;
  type: string;
  at: string;
  hops: TraceEntry[];
  children: string[];
}

/** The hops of one dump: every event of its traces, each with its deliveries and the replies they caused. */
export interface TraceTree {
  nodes: Map<string, EventNode>;
  roots: string[];
  entries: TraceEntry[];
}

export function traceTree(entries: TraceEntry[], key: string): TraceTree {
  const traceIds = new Set(
    entries
      .filter((e) => e.dumpid === key || e.eventId === key)
      .flatMap((e) => (e.traceId ? [e.traceId] : [])),
  );
  const mine = entries.filter(
    (e) => (e.traceId && traceIds.has(e.traceId)) || e.dumpid === key || e.eventId === key,
  );
  const nodes = new Map<string, EventNode>();
  const node = (e: TraceEntry) => {
    const known = nodes.get(e.eventId);
    if (known) return known;
    const created: EventNode = { id: e.eventId, type: e.type, at: e.ts, hops: [], children: [] };
    nodes.set(e.eventId, created);
    return created;
  };
  const caused = new Set<string>();
  for (const entry of mine) {
    const n = node(entry);
    if (entry.kind === 'reply' && entry.causeId) {
      const parent = nodes.get(entry.causeId);
      if (parent && !parent.children.includes(entry.eventId)) parent.children.push(entry.eventId);
      caused.add(entry.eventId);
    } else if (entry.kind !== 'ingress') n.hops.push(entry);
  }
  const roots = [...nodes.keys()].filter((id) => !caused.has(id));
  return { nodes, roots, entries: mine };
}

function describeHop(hop: TraceEntry): string {
  const who = hop.trigger ?? hop.subscriber ?? '';
  const status = hop.status ?? hop.error ?? '';
  const ms = hop.durationMs !== undefined ? ` ${Math.round(hop.durationMs)}ms` : '';
  const attempt = hop.attempt ? ` #${hop.attempt}` : '';
  const error = hop.kind === 'dropped' || hop.kind === 'dead-letter' ? ` ${hop.error ?? ''}` : '';
  return `${hop.kind}${attempt} → ${who} ${status}${ms}${error}`.trimEnd();
}

function render(nodes: Map<string, EventNode>, id: string, prefix: string, last: boolean, lines: string[]) {
  const n = nodes.get(id);
  if (!n) return;
  lines.push(`${prefix}${last ? '└─ ' : '├─ '}${n.type}  ${n.id}  ${n.at.slice(11, 23)}`);
  const inner = `${prefix}${last ? '   ' : '│  '}`;
  const items: Array<{ hop?: TraceEntry; child?: string }> = [
    ...n.hops.map((hop) => ({ hop })),
    ...n.children.map((child) => ({ child })),
  ];
  items.forEach((item, i) => {
    const isLast = i === items.length - 1;
    if (item.hop) lines.push(`${inner}${isLast ? '└─ ' : '├─ '}${describeHop(item.hop)}`);
    else render(nodes, item.child!, inner, isLast, lines);
  });
}

export function formatTree({ nodes, roots }: TraceTree): string {
  const lines: string[] = [];
  for (const [i, id] of roots.entries()) render(nodes, id, '', i === roots.length - 1, lines);
  return lines.join('\n');
}

export function registerTrace(program: Command) {
  program
    .command('trace')
    .description('the hops of one dump (or event) through the Broker, as a tree with statuses and durations')
    .argument('<dumpId|eventId>')
    .option('--json', 'print the trace entries as JSON')
    .action(
      action(async (key: string, options: { json?: boolean }) => {
        const file = requireVar(cliEnv(), 'HEAPDUMP_TRACE_FILE', 'the Broker trace file');
        if (!existsSync(file)) throw new CliError(`no trace file at ${file}`, ExitCode.unreachable);
        const entries = readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as TraceEntry);
        const tree = traceTree(entries, key);
        if (tree.entries.length === 0) throw new CliError(`nothing in the trace for ${key}`, ExitCode.failed);
        if (options.json) return void printJson(tree.entries);
        console.log(formatTree(tree));
        return undefined;
      }),
    );
}
