import { afterEach, describe, expect, it } from 'vitest';
import { Internet } from '../../source/sandbox/internet.js';

let net: Internet | undefined;
afterEach(async () => { await net?.close(); net = undefined; });

describe('the sandbox internet', () => {
  it('answers only for scenario hosts, on 127.0.0.1, and fails other hosts as DNS errors',
    async () => {
      net = new Internet({ 'api.partner.example': {} }, () => ['key-1'], 0);
      await net.start();
      expect(net.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const unknown = await net.call('https://www.example.com/v1/health', { timeoutMs: 1000 });
      expect(unknown).toMatchObject({ ok: false, failure: 'dns' });

      const health = await net.call('https://api.partner.example/v1/health',
        { timeoutMs: 1000 });
      expect(health).toMatchObject({ ok: true, status: 200, body: { status: 'healthy' } });
    });

  it('checks the API key the way a partner API would', async () => {
    net = new Internet({ 'api.partner.example': {} }, () => ['key-1'], 0);
    await net.start();
    const call = (key?: string) => net!.call('https://api.partner.example/v1/orders', {
      timeoutMs: 1000, headers: key ? { 'x-api-key': key } : {} });
    expect(await call('key-1')).toMatchObject({ ok: true, status: 200 });
    expect(await call('**********')).toMatchObject({ ok: true, status: 401 });
    expect(await call()).toMatchObject({ ok: true, status: 401 });
  });

  it('times a slow host out against the caller\'s deadline', async () => {
    net = new Internet({ 'slow.partner.example': { latencyMs: 200_000 } }, () => [], 0);
    await net.start();
    const res = await net.call('https://slow.partner.example/v1/health', { timeoutMs: 50 });
    expect(res).toMatchObject({ ok: false, failure: 'timeout' });
  });

  it('answers a host faster than the budget however small the budget (a busy machine)',
    async () => {
      net = new Internet({ 'api.partner.example': { latencyMs: 120 } }, () => [], 0);
      await net.start();
      const calls = Array.from({ length: 20 }, () =>
        net!.call('https://api.partner.example/v1/health', { timeoutMs: 1 }));
      const results = await Promise.all(calls);
      expect(results.filter((res) => !res.ok)).toEqual([]);
    });
});
