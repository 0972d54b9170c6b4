/**
 * The product's user documentation (../shared/seeds/motivus-docs.md, beside the repository, as CI
 * lays it out) and the driver it prints, taken verbatim: the tests run exactly what a reader copies.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

export const DOCS = fileURLToPath(new URL("../../../shared/seeds/motivus-docs.md", import.meta.url));

/** The ```python block of the docs whose first line is `# driver.py`, unchanged. */
export async function docsDriver(): Promise<string> {
  const text = await readFile(DOCS, "utf8").catch((err: Error) => {
    throw new Error(`the Motivus docs are expected at ${DOCS} (shared/ beside the repository): ${err.message}`);
  });
  const blocks = [...text.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const driver = blocks.find((b) => b.startsWith("# driver.py\n"));
  if (!driver) throw new Error(`no \`\`\`python block starting with "# driver.py" in ${DOCS}`);
  return driver;
}
