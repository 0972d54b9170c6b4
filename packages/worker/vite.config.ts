/**
 * Browser bundles, one build per mode (`vite build --mode <mode>`):
 * - default: the npm entry `src/index.ts` as an ES module;
 * - `embed`: `src/embed.ts` as one classic script for a `<script>` tag;
 * - `runtime`: the Web Worker runtime as its own classic script, loaded by the
 *   sandbox frame into workers (never into the host page).
 */
import { defineConfig, transformWithEsbuild, type Plugin, type UserConfig } from "vite";

/**
 * Vite leaves an ES library's whitespace in place (to keep pure annotations for the app that bundles
 * it again); pages that load the file as it is (the script-tag entry imports it after consent) would
 * download that whitespace. Minify the finished chunk.
 */
const minifyChunk: Plugin = {
  name: "minify-es-library",
  // After Vite's own steps, which print the library with its whitespace again.
  async generateBundle(_options, bundle) {
    for (const chunk of Object.values(bundle)) {
      if (chunk.type !== "chunk") continue;
      delete bundle[`${chunk.fileName}.map`];
      const minified = await transformWithEsbuild(chunk.code, chunk.fileName, { minify: true, format: "esm", target: "es2022" });
      chunk.code = minified.code;
      chunk.map = null; // it would not match: the bench profiles map the runtime and the embed, not this file
    }
  },
};

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
      outDir: "dist",
      emptyOutDir: false,
      target: "es2022",
      // Maps for our own profiling (bench/), never shipped: the package has no sources to point at.
      sourcemap: "hidden",
      minify: "esbuild",
      lib: { entry, name: "MotivusWorker", fileName: () => `${fileName}.js`, formats: [...formats] },
      rollupOptions: {
        // zod's sources place pure annotations where Rollup cannot use them; Rollup drops them, harmlessly.
        onwarn: (warning, warn) =>
          warning.code === "INVALID_ANNOTATION" && warning.id?.includes("/node_modules/zod/") ? undefined : warn(warning),
      },
    },
    plugins: formats.includes("es" as never) ? [minifyChunk] : [],
  };
});
