/**
 * The host side of the isolation: a hidden `<iframe sandbox="allow-scripts">`
 * (opaque origin: no cookies, storage or DOM of the host) with a CSP that
 * forbids network, in which every algorithm worker is created.
 */
import { fromFrame, SANDBOX_CSP, type ToFrame } from "../../protocol/sandbox.js";
import { frameMain } from "../frame/main.js";

/** A worker the frame has not confirmed by then is counted as crashed, so its slot gets another. */
const SPAWN_TIMEOUT_MS = 15_000;

export interface SandboxedWorker {
  readonly id: number;
  /** The host's end of the worker's MessagePort (wrap it with Comlink). */
  readonly port: MessagePort;
  /** Settles when the worker dies of an uncaught error, or when the frame could not start it. */
  readonly crashed: Promise<string>;
  terminate(): void;
}

export class SandboxFrame {
  private nextId = 1;
  /** Workers not yet confirmed (`spawned`) and alive ones: how to end each as crashed. */
  private crashes = new Map<number, (message: string) => void>();
  private pending = new Map<number, ReturnType<typeof setTimeout>>();
  private readonly onMessage = (event: MessageEvent<unknown>) => {
    if (event.source !== this.iframe.contentWindow) return;
    const message = fromFrame(event.data);
    if (message?.kind === "spawned") this.confirm(message.id);
    else if (message?.kind === "crashed") {
      this.confirm(message.id);
      this.crashes.get(message.id)?.(message.message);
    }
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
    let listen: (event: MessageEvent<unknown>) => void = () => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ready = new Promise<void>((ok, fail) => {
      listen = (event) => {
        if (event.source === iframe.contentWindow && fromFrame(event.data)?.kind === "ready") ok();
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
    this.pending.set(
      id,
      setTimeout(() => this.crashes.get(id)?.(`the sandbox frame did not start the worker within ${SPAWN_TIMEOUT_MS / 1000} s`), SPAWN_TIMEOUT_MS),
    );
    this.post({ kind: "spawn", id, port: channel.port2 }, [channel.port2]);
    return {
      id,
      port: channel.port1,
      crashed,
      terminate: () => {
        this.confirm(id);
        this.crashes.delete(id);
        channel.port1.close();
        this.post({ kind: "terminate", id });
      },
    };
  }

  destroy(): void {
    removeEventListener("message", this.onMessage);
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    this.iframe.remove();
  }

  private confirm(id: number): void {
    clearTimeout(this.pending.get(id));
    this.pending.delete(id);
  }

  private post(message: ToFrame, transfer: Transferable[] = []): void {
    this.iframe.contentWindow?.postMessage(message, "*", transfer);
  }
}
