import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signAuthCode } from './hmac';

describe('signAuthCode', () => {
  it('matches Node HMAC-SHA256 hex for the same key and message', async () => {
    const secret = 'poll-secret-3f9a';
    const code = 'auth_code_XYZ123';
    const expected = createHmac('sha256', secret).update(code).digest('hex');
    await expect(signAuthCode(secret, code)).resolves.toBe(expected);
  });

  it('matches the RFC 4231 test case 2 vector', async () => {
    await expect(signAuthCode('Jefe', 'what do ya want for nothing?')).resolves.toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });
});
