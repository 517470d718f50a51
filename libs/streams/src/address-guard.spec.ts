import { isPublicAddress, resolvePublic } from './address-guard';

describe('the address guard', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fd00:ec2::254',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:a9fe:a9fe',
    '64:ff9b::10.0.0.1',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['8.8.8.8', '93.184.216.34', '2606:4700::1111', '::ffff:8.8.8.8'])('lets %s through', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it('refuses a name when any address it resolves to is private, unless that address is listed', async () => {
    const dns = (answers: string[]) => () => Promise.resolve(answers);
    expect(await resolvePublic('cams.test', () => false, dns(['203.0.113.7']))).toMatchObject({ ok: false });
    expect(await resolvePublic('cams.test', () => false, dns(['8.8.8.8', '10.0.0.5']))).toMatchObject({ ok: false });
    expect(await resolvePublic('cams.test', () => false, dns(['8.8.8.8']))).toEqual({ ok: true, address: '8.8.8.8' });
    expect(await resolvePublic('cams.test', (a) => a === '127.0.0.1', dns(['127.0.0.1']))).toEqual({
      ok: true,
      address: '127.0.0.1',
    });
    expect(await resolvePublic('127.0.0.1', () => false)).toMatchObject({ ok: false });
    expect(
      await resolvePublic(
        'gone.test',
        () => false,
        () => Promise.reject(new Error('ENOTFOUND')),
      ),
    ).toEqual({
      ok: false,
      reason: 'gone.test does not resolve',
    });
  });
});
