import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration tests bind real ports and spawn processes: keep files isolated.
    pool: 'forks',
    // Names the optional system tools that are missing (their tests skip, or fail in CI).
    globalSetup: ['test/global-setup.ts'],
    benchmark: { include: ['bench/micro/**/*.bench.ts'] },
  },
});
