/**
 * An upload sink for the bare page's payload reference: POST any body, get back
 * `{ bytes }` once it has all arrived. CORS-open (the bare page is on the
 * cluster's origin), 127.0.0.1 only.
 */
import { createServer } from "node:http";

export async function startSink() {
  const http = createServer((req, res) => {
    const cors = {
      "access-control-allow-origin": "*",
      "access-control-allow-headers": "content-type",
      "access-control-allow-methods": "POST",
    };
    if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
    let bytes = 0;
    req.on("data", (chunk) => (bytes += chunk.length));
    req.on("end", () => res.writeHead(200, { ...cors, "content-type": "application/json" }).end(JSON.stringify({ bytes })));
  });
  await new Promise((ok) => http.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${http.address().port}/`,
    close: () => {
      http.closeAllConnections();
      return new Promise((ok) => http.close(ok));
    },
  };
}
