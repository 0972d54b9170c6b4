/**
 * Browser bundles, one build per mode (`vite build --mode <mode>`):
 * - default: the npm entry `src/index.ts` as an ES module;
 * - `embed`: `src/embed.ts` as one classic script for a `<script>` tag;
 * - `runtime`: the Web Worker runtime as its own classic script, loaded by the
 *   sandbox frame into workers (never into the host page).
 */
import { defineConfig, type UserConfig } from "vite";

const entries = {
  library: { entry: "src/index.ts", fileName: "motivus-worker", formats: ["es"] as const },
  embed: { entry: "src/embed.ts", fileName: "motivus-embed", formats: ["iife"] as const },
  runtime: { entry: "src/runtime/worker.ts", fileName: "runtime", formats: ["iife"] as const },
};

export default defineConfig(({ mode }): UserConfig => {
  const { entry, fileName, formats } = entries[mode as keyof typeof entries] ?? entries.library;
  return {
    publicDir: false,
    build: {
      outDir: "dist/browser",
      emptyOutDir: false,
      target: "es2022",
      sourcemap: true,
      minify: "esbuild",
      lib: { entry, name: "MotivusWorker", fileName: () => `${fileName}.js`, formats: [...formats] },
    },
  };
});
