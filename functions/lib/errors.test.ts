import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BadRequestError, httpStatusOf, PermanentError, TransientError, toHttpError } from './errors.ts';

describe('error mapping', () => {
  it('maps each error to the status that carries its retry meaning', () => {
    expect(httpStatusOf(new BadRequestError('x'))).toBe(400);
    expect(httpStatusOf(new PermanentError('x'))).toBe(422);
    expect(httpStatusOf(new TransientError('x'))).toBe(503);
  });

  it('turns validation failures into 422 naming the field', () => {
    const result = z.object({ pod: z.string() }).safeParse({ pod: 1 });
    const mapped = toHttpError(result.error);
    expect(mapped.code).toBe(422);
    expect(mapped.message).toMatch(/^pod: /);
  });

  it('wraps unknown errors, including Node errors with string codes, as 503 with a numeric code', () => {
    const nodeError = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const mapped = toHttpError(nodeError);
    expect(mapped).toBeInstanceOf(TransientError);
    expect(mapped.code).toBe(503);
    expect(mapped.message).toContain('socket hang up');
    expect(toHttpError('plain string').code).toBe(503);
  });
});
