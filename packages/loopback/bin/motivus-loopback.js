#!/usr/bin/env node
// Runs the built loopback cluster (`npm run build` produces dist/).
import { main } from "../dist/cli.js";

main(process.argv.slice(2)).catch((err) => {
  console.error(`motivus-loopback: ${err.message}`);
  process.exit(1);
});
