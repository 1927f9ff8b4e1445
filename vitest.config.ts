import { defineConfig } from 'vitest/config';

// Unit tests are pure logic and fast; e2e tests spawn the built CLI and real QEMU guests,
// so they run one file at a time (two cores here, and TCG guests are CPU-bound).
export default defineConfig({
  test: {
    disableConsoleIntercept: true,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'src/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // Builds once (unless npm test just did) and provides the shared-runs directory.
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
