import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts", "test/soak/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
