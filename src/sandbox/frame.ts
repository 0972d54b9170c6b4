/**
 * The host side of the isolation: a hidden `<iframe sandbox="allow-scripts">`
 * (opaque origin: no cookies, storage or DOM of the host) with a CSP that
 * forbids network, in which every algorithm worker is created.
 */
import { frameMain } from "./frame-script.js";
import { SANDBOX_CSP, type FromFrame, type ToFrame } from "./protocol.js";

export interface SandboxedWorker {
  readonly id: number;
  /** The host's end of the worker's MessagePort (wrap it with Comlink). */
  readonly port: MessagePort;
  /** Settles when the worker dies of an uncaught error. */
  readonly crashed: Promise<string>;
  terminate(): void;
}

export class SandboxFrame {
  private nextId = 1;
  private crashes = new Map<number, (message: string) => void>();
  private readonly onMessage = (event: MessageEvent<FromFrame>) => {
    if (event.source !== this.iframe.contentWindow) return;
    if (event.data.kind === "crashed") this.crashes.get(event.data.id)?.(event.data.message);
  };

  private constructor(private readonly iframe: HTMLIFrameElement) {
    addEventListener("message", this.onMessage);
  }

  /** Create the frame and load the runtime source into it. */
  static async create(runtimeSource: string, container: Element = document.body, timeoutMs = 10_000): Promise<SandboxFrame> {
    const iframe = document.createElement("iframe");
    iframe.setAttribute("sandbox", "allow-scripts");
    iframe.setAttribute("aria-hidden", "true");
    iframe.setAttribute("tabindex", "-1");
    iframe.style.cssText = "position:absolute;width:0;height:0;border:0;visibility:hidden";
    iframe.srcdoc =
      `<!doctype html><meta http-equiv="Content-Security-Policy" content="${SANDBOX_CSP}">` +
      `<script>(${frameMain.toString()})()</script>`;
    let listen: (event: MessageEvent<FromFrame>) => void = () => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ready = new Promise<void>((ok, fail) => {
      listen = (event) => {
        if (event.source === iframe.contentWindow && event.data?.kind === "ready") ok();
      };
      addEventListener("message", listen);
      // A srcdoc frame inherits the host page's CSP: a strict script-src silently blocks our bootstrap.
      timer = setTimeout(
        () =>
          fail(
            new Error(
              `the sandbox frame did not start within ${timeoutMs / 1000} s: this page's Content-Security-Policy ` +
                "probably blocks inline scripts in srcdoc frames (allow them with 'unsafe-inline' or a hash in script-src)",
            ),
          ),
        timeoutMs,
      );
    });
    container.appendChild(iframe);
    try {
      await ready;
    } catch (err) {
      iframe.remove();
      throw err;
    } finally {
      clearTimeout(timer);
      removeEventListener("message", listen);
    }
    const frame = new SandboxFrame(iframe);
    frame.post({ kind: "runtime", source: runtimeSource });
    return frame;
  }

  spawn(): SandboxedWorker {
    const id = this.nextId++;
    const channel = new MessageChannel();
    const crashed = new Promise<string>((ok) => this.crashes.set(id, ok));
    this.post({ kind: "spawn", id, port: channel.port2 }, [channel.port2]);
    return {
      id,
      port: channel.port1,
      crashed,
      terminate: () => {
        this.crashes.delete(id);
        channel.port1.close();
        this.post({ kind: "terminate", id });
      },
    };
  }

  destroy(): void {
    removeEventListener("message", this.onMessage);
    this.iframe.remove();
  }

  private post(message: ToFrame, transfer: Transferable[] = []): void {
    this.iframe.contentWindow?.postMessage(message, "*", transfer);
  }
}
