/** The API server's error shape: a `Status` object with a machine-readable reason and the HTTP code. */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: { name?: string; kind?: string; causes?: { reason?: string; message: string; field?: string }[] };
  code: number;
}

export class StatusError extends Error {
  constructor(readonly status: KubeStatus) {
    super(status.message);
  }
}

function failure(
  code: number,
  reason: string,
  message: string,
  details?: KubeStatus['details'],
): StatusError {
  return new StatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  });
}

export const unauthorized = () => failure(401, 'Unauthorized', 'Unauthorized');

export function forbidden(
  user: string,
  verb: string,
  resource: string,
  namespace?: string,
  name?: string,
): StatusError {
  const [kind] = resource.split('/');
  const subject = name ? `${kind} "${name}"` : kind;
  const scope = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
  return failure(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group ""${scope}`,
    { ...(name ? { name } : {}), kind },
  );
}

export const notFound = (kind: string, name: string) =>
  failure(404, 'NotFound', `${kind} "${name}" not found`, { name, kind });

export const pathNotFound = () =>
  failure(404, 'NotFound', 'the server could not find the requested resource');

export const badRequest = (message: string) => failure(400, 'BadRequest', message);

export const methodNotAllowed = (method: string) =>
  failure(
    405,
    'MethodNotAllowed',
    `the server does not allow this method on the requested resource: ${method}`,
  );

export const gone = (message: string) => failure(410, 'Expired', message);

export const conflict = (kind: string, name: string) =>
  failure(409, 'AlreadyExists', `${kind} "${name}" already exists`, { name, kind });

export const internalError = (message: string) =>
  failure(500, 'InternalError', `Internal error occurred: ${message}`);
