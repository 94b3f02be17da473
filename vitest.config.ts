import { defineConfig } from "vitest/config";

// Unit tests run in parallel; tests against the real engine (*.docker.test.ts) and the
// VM (*.vm.test.ts) share one engine and run one file at a time.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    // Only tests marked concurrent (the LVS selftests) share this: two at a time.
    maxConcurrency: 2,
    reporters: ["default", "./test/helpers/totals-reporter.ts"],
  },
});
