import { AppConfig, ConfigError } from './app-config';

const SECRET = 'x'.repeat(32);

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    AppConfig.fromEnv(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the configuration to be refused');
}

describe('AppConfig', () => {
  it('fills the documented defaults', () => {
    const config = AppConfig.fromEnv({ JWT_SECRET: SECRET });
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 3000,
      adapters: 'real',
      kafka: { brokers: ['127.0.0.1:9092'] },
      redis: { url: 'redis://127.0.0.1:6379' },
      devTokens: false,
      jwt: { key: { kind: 'secret', algorithm: 'HS256' } },
    });
  });

  it('names each bad variable', () => {
    const problems = problemsOf({ JWT_SECRET: SECRET, PORT: 'eighty', ADAPTERS: 'magic', REDIS_URL: 'http://x' });
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/ADAPTERS/);
    expect(problems.join('\n')).toMatch(/REDIS_URL/);
  });

  it('needs exactly one JWT key source, and a long enough secret', () => {
    expect(problemsOf({}).join('\n')).toMatch(/exactly one of JWT_SECRET/);
    expect(problemsOf({ JWT_SECRET: SECRET, JWT_JWKS_URL: 'https://idp.example/jwks' }).join('\n')).toMatch(
      /exactly one/,
    );
    expect(problemsOf({ JWT_SECRET: 'short' }).join('\n')).toMatch(/JWT_SECRET: must be at least 32/);
    expect(problemsOf({ JWT_JWKS_URL: 'http://idp.example/jwks' }).join('\n')).toMatch(
      /JWT_JWKS_URL: must be an https/,
    );
    expect(problemsOf({ JWT_PUBLIC_KEY: 'not a pem' }).join('\n')).toMatch(/JWT_PUBLIC_KEY/);
  });

  it('refuses development tokens unless the gateway listens on loopback only', () => {
    expect(problemsOf({ JWT_SECRET: SECRET, DEV_TOKENS: '1', HOST: '0.0.0.0' }).join('\n')).toMatch(
      /DEV_TOKENS: .*loopback/,
    );
    expect(AppConfig.fromEnv({ JWT_SECRET: SECRET, DEV_TOKENS: '1', HOST: '127.0.0.1' }).devTokens).toBe(true);
  });

  it('refuses development tokens in production', () => {
    expect(problemsOf({ JWT_SECRET: SECRET, DEV_TOKENS: '1', NODE_ENV: 'production' }).join('\n')).toMatch(
      /DEV_TOKENS/,
    );
  });
});
