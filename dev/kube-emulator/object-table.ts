import { evaluateJsonPath } from './json-path.ts';
import type { KubeObject, PrinterColumn, ResourceType } from './resource-types.ts';
import { humanDuration, type IncludeObject } from './table.ts';

const ageColumn: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/**
 * The `meta.k8s.io/v1` Table the API server prints objects of a type as: Name, then the CRD's
 * additionalPrinterColumns (Age when it has none), cells typed as apiextensions-apiserver's table
 * convertor types them (a value of another JSON type than the column's is empty; dates become ages).
 */
export function objectTable(
  type: ResourceType,
  objects: KubeObject[],
  resourceVersion: string,
  include: IncludeObject,
  now = Date.now(),
) {
  const columns = type.printerColumns?.length ? type.printerColumns : [ageColumn];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: [
      { name: 'Name', type: 'string', format: 'name', description: 'Name of the object', priority: 0 },
      ...columns.map((column) => ({
        name: column.name,
        type: column.type,
        format: column.format ?? '',
        description: column.description ?? '',
        priority: column.priority ?? 0,
      })),
    ],
    rows: objects.map((object) => ({
      cells: [object.metadata.name, ...columns.map((column) => cellOf(column, object, now))],
      object: objectFor(object, include),
    })),
  };
}

function cellOf(column: PrinterColumn, object: KubeObject, now: number): unknown {
  const value = evaluateJsonPath(column.jsonPath, object)[0];
  switch (column.type) {
    case 'date': {
      const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
      return Number.isNaN(time) ? null : humanDuration(now - time);
    }
    case 'integer':
      return Number.isInteger(value) ? value : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    default:
      return typeof value === 'string' ? value : null;
  }
}

function objectFor(object: KubeObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return object;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
}
