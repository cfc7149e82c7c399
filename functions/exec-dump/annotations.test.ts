import { describe, expect, it } from 'vitest';
import { Annotations, planFrom } from './annotations.ts';

describe('planFrom', () => {
  it('defaults to jcmd into /dumps, raw, and the Spring Boot actuator path for http', () => {
    expect(planFrom(undefined, 'live')).toEqual({
      strategy: 'jcmd',
      dumpDir: '/dumps',
      pid: undefined,
      gzipLevel: undefined,
      http: { port: 8080, path: '/actuator/heapdump' },
    });
  });

  it('reads every annotation, and a restart always collects', () => {
    const annotations = {
      [Annotations.strategy]: 'http',
      [Annotations.dumpDir]: '/var/dumps/',
      [Annotations.pid]: '42',
      [Annotations.gzipLevel]: '6',
      [Annotations.httpPort]: '9090',
      [Annotations.httpPath]: '/manage/heapdump',
      'other.io/ignored': '$(anything)',
    };
    expect(planFrom(annotations, 'live')).toEqual({
      strategy: 'http',
      dumpDir: '/var/dumps',
      pid: 42,
      gzipLevel: 6,
      http: { port: 9090, path: '/manage/heapdump' },
    });
    expect(planFrom(annotations, 'collect').strategy).toBe('collect');
  });

  it.each([
    [Annotations.dumpDir, '/'],
    [Annotations.dumpDir, 'dumps'],
    [Annotations.dumpDir, '/dumps/..'],
    [Annotations.dumpDir, '/a b'],
    [Annotations.dumpDir, '/dumps\n/etc'],
    [Annotations.pid, '0'],
    [Annotations.pid, '-1'],
    [Annotations.pid, '99999999999'],
    [Annotations.gzipLevel, '10'],
    [Annotations.httpPort, '65536'],
    [Annotations.httpPath, 'actuator/heapdump'],
    [Annotations.httpPath, '/a/../b'],
    [Annotations.strategy, 'JCMD'],
  ])('rejects %s=%j (422, naming the annotation)', (key, value) => {
    expect(() => planFrom({ [key]: value }, 'live')).toThrow(
      expect.objectContaining({ code: 422, message: expect.stringContaining(key) }),
    );
  });
});
