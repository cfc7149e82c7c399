/**
 * The JSONPath that CRDs use in additionalPrinterColumns: field steps (`.status.address.url`), dots
 * escaped inside keys (`.metadata.annotations.eventing\.knative\.dev/broker\.class`) and equality filters
 * (`.status.conditions[?(@.type=="Ready")].status`, either quote, spaces allowed). Returns every match.
 */
export function evaluateJsonPath(path: string, value: unknown): unknown[] {
  let current: unknown[] = [value];
  for (const step of parseSteps(path)) {
    current = current.flatMap((node) => {
      if (step.kind === 'field') {
        if (node === null || typeof node !== 'object' || Array.isArray(node)) return [];
        const child = (node as Record<string, unknown>)[step.name];
        return child === undefined ? [] : [child];
      }
      if (!Array.isArray(node)) return [];
      return node.filter(
        (item) =>
          item !== null &&
          typeof item === 'object' &&
          String((item as Record<string, unknown>)[step.field]) === step.equals,
      );
    });
  }
  return current;
}

type Step = { kind: 'field'; name: string } | { kind: 'filter'; field: string; equals: string };

const filterPattern = /^\[\?\(@\.([\w-]+)\s*==\s*(?:"([^"]*)"|'([^']*)')\)\]/;

function parseSteps(path: string): Step[] {
  const steps: Step[] = [];
  let rest = path.trim().replace(/^\{(.*)\}$/, '$1');
  while (rest.length) {
    const filter = filterPattern.exec(rest);
    if (filter) {
      steps.push({ kind: 'filter', field: filter[1]!, equals: filter[2] ?? filter[3] ?? '' });
      rest = rest.slice(filter[0].length);
      continue;
    }
    if (!rest.startsWith('.')) throw new Error(`unsupported JSONPath ${JSON.stringify(path)} at ${rest}`);
    let name = '';
    let i = 1;
    for (; i < rest.length && rest[i] !== '.' && rest[i] !== '['; i++) {
      if (rest[i] === '\\' && i + 1 < rest.length) i++;
      name += rest[i];
    }
    steps.push({ kind: 'field', name });
    rest = rest.slice(i);
  }
  return steps;
}
