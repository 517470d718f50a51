/** Three tiers: small (pure, in-memory), medium (one lib against real Kafka/Redis), e2e (processes). */
const base = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  moduleNameMapper: {
    // A lib's own module (`@mesh/contracts/rooms`), then a lib's entry point.
    '^@mesh/([^/]+)/(.+)$': '<rootDir>/libs/$1/src/$2',
    '^@mesh/(.*)$': '<rootDir>/libs/$1/src',
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
  // Global in jest 29 (not per project): the e2e tier starts processes in beforeAll.
  testTimeout: 120_000,
  projects: [
    {
      ...base,
      displayName: 'small',
      testMatch: [
        '<rootDir>/libs/**/*.spec.ts',
        '<rootDir>/apps/**/*.spec.ts',
        '<rootDir>/scripts/**/*.spec.ts',
        '<rootDir>/load-tests/**/*.spec.ts',
      ],
      testPathIgnorePatterns: ['\\.medium\\.spec\\.ts$', '/node_modules/', '/dist/'],
    },
    {
      ...base,
      displayName: 'medium',
      testMatch: ['<rootDir>/libs/**/*.medium.spec.ts', '<rootDir>/apps/**/*.medium.spec.ts'],
    },
    {
      ...base,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e.spec.ts'],
    },
  ],
};
