/**
 * The host side of the isolation: a hidden `<iframe sandbox="allow-scripts">`
 * (opaque origin: no cookies, storage or DOM of the host) with a CSP that
 * forbids network, in which every algorithm worker is created.
 *
 * Host pages re-render: if the frame is taken out of the document its workers
 * die with it. Their tasks end as crashes (so their drivers hear of it), and a
 * new frame is made; spawns wait for it.
 *
 * The frame's process can also die silently: an algorithm that exhausts the JS
 * heap kills it (the frame is out of process), and nothing tells the page (no
 * worker error, the iframe stays in the document). So while any of its workers
 * runs a task the frame is asked, once a second, whether it is there; a frame
 * that does not answer is replaced the same way. Idle, nothing is asked.
 */
import { fromFrame, SANDBOX_CSP, type ToFrame } from "../../messages/sandbox.js";
import { FRAME_BOOTSTRAP } from "../../generated/inline-scripts.js";

/** A worker the frame has not confirmed by then is counted as crashed, so its slot gets another. */
const SPAWN_TIMEOUT_MS = 15_000;
/** While a task runs, the frame is pinged this often... */
const HEARTBEAT_MS = 1_000;
/**
 * ...and counted dead when a ping stays unanswered through this many beats (so at least 3 s). Beats, not
 * the clock: a host page that blocks its own thread for seconds, or a hidden tab whose timers are
 * throttled, sees the frame's answer before its next beat.
 */
const SILENT_BEATS = 3;

export interface SandboxedWorker {
  readonly id: number;
  /** The host's end of the worker's MessagePort (wrap it with Comlink). */
  readonly port: MessagePort;
  /** Settles when the worker dies of an uncaught error, when the frame could not start it, or when the frame is gone. */
  readonly crashed: Promise<string>;
  terminate(): void;
  /**
   * The worker runs a task until the returned function is called: meanwhile its frame is watched
   * (heartbeat), so a frame whose process died ends the task as a crash at once, not at its deadline.
   */
  watch?(): () => void;
}

function makeIframe(): HTMLIFrameElement {
  const iframe = document.createElement("iframe");
  iframe.setAttribute("sandbox", "allow-scripts");
  // On a cross-origin-isolated page the frame and its workers are isolated too (SharedArrayBuffer for
  // -pthread programs); elsewhere the permission changes nothing.
  iframe.setAttribute("allow", "cross-origin-isolated");
  iframe.setAttribute("aria-hidden", "true");
  iframe.setAttribute("tabindex", "-1");
  iframe.style.cssText = "position:absolute;width:0;height:0;border:0;visibility:hidden";
  iframe.srcdoc = `<!doctype html><meta http-equiv="Content-Security-Policy" content="${SANDBOX_CSP}"><script>${FRAME_BOOTSTRAP}</script>`;
  return iframe;
}

export class SandboxFrame {
  private nextId = 1;
  private iframe: HTMLIFrameElement;
  /** Resolves once the current iframe said `ready` and holds the runtime. */
  private ready: Promise<void>;
  /** Workers not yet confirmed (`spawned`) and alive ones: how to end each as crashed. */
  private crashes = new Map<number, (message: string) => void>();
  private pending = new Map<number, ReturnType<typeof setTimeout>>();
  private destroyed = false;
  /** Whether the current iframe said `ready` (a ping to a frame still loading would go unanswered). */
  private loaded = false;
  /** Workers running a task: while there are any, the heartbeat runs. */
  private watchers = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  /** The ping not answered yet, and how many beats it has gone unanswered. */
  private ping: { id: number; beats: number } | null = null;
  private pings = 0;
  private readonly watcher: MutationObserver;
  private readonly onMessage = (event: MessageEvent<unknown>) => {
    if (event.source !== this.iframe.contentWindow) return;
    const message = fromFrame(event.data);
    if (message?.kind === "spawned") this.confirm(message.id);
    else if (message?.kind === "pong") {
      if (message.id === this.ping?.id) this.ping = null;
    } else if (message?.kind === "crashed") {
      this.confirm(message.id);
      this.crashes.get(message.id)?.(message.message);
    }
  };

  private constructor(
    private readonly runtimeSource: string,
    private readonly container: Element,
    private readonly timeoutMs: number,
  ) {
    addEventListener("message", this.onMessage);
    this.iframe = makeIframe();
    this.ready = this.load(timeoutMs);
    // One cheap check per batch of DOM changes: is our frame still in the document?
    this.watcher = new MutationObserver(() => {
      if (!this.destroyed && !this.iframe.isConnected) this.replace("the sandbox frame was removed from the page");
    });
    this.watcher.observe(document, { childList: true, subtree: true });
  }

  /** Create the frame and load the runtime source into it. */
  static async create(runtimeSource: string, container: Element = document.body, timeoutMs = 10_000): Promise<SandboxFrame> {
    const frame = new SandboxFrame(runtimeSource, container, timeoutMs);
    try {
      await frame.ready;
    } catch (err) {
      frame.destroy();
      throw err;
    }
    return frame;
  }

  spawn(): SandboxedWorker {
    const id = this.nextId++;
    const channel = new MessageChannel();
    const crashed = new Promise<string>((ok) => this.crashes.set(id, ok));
    // A frame that does not start a worker in time has stopped answering (its process may have died of an
    // algorithm that ran it out of memory, which nothing reports): it is replaced, with all its workers.
    this.pending.set(
      id,
      setTimeout(
        () => this.replace(`the sandbox frame did not start a worker within ${SPAWN_TIMEOUT_MS / 1000} s and was replaced`),
        SPAWN_TIMEOUT_MS,
      ),
    );
    void this.ready.then(() => this.post({ kind: "spawn", id, port: channel.port2 }, [channel.port2]));
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
      watch: () => this.watch(),
    };
  }

  destroy(): void {
    this.destroyed = true;
    this.watcher.disconnect();
    removeEventListener("message", this.onMessage);
    clearInterval(this.heartbeat);
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    this.iframe.remove();
  }

  /** Appends the current iframe and resolves when it is ready and holds the runtime. */
  private load(timeoutMs: number): Promise<void> {
    const iframe = this.iframe;
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
    }).finally(() => {
      clearTimeout(timer);
      removeEventListener("message", listen);
    });
    // A container that left the document with the frame cannot hold the next one.
    (this.container.isConnected ? this.container : document.body).appendChild(iframe);
    return ready.then(() => {
      if (iframe === this.iframe) this.loaded = true;
      this.post({ kind: "runtime", source: this.runtimeSource });
    });
  }

  /** Heartbeat while a task runs; returns the function that ends this watch (once). */
  private watch(): () => void {
    if (this.watchers++ === 0) {
      this.ping = null;
      this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    }
    let watching = true;
    return () => {
      if (!watching) return;
      watching = false;
      if (--this.watchers === 0) {
        clearInterval(this.heartbeat);
        this.ping = null;
      }
    };
  }

  private beat(): void {
    if (this.destroyed || !this.loaded) return;
    if (this.ping === null) {
      this.ping = { id: ++this.pings, beats: 0 };
      this.post({ kind: "ping", id: this.ping.id });
    } else if (++this.ping.beats >= SILENT_BEATS) {
      this.replace(
        `the sandbox frame stopped answering for ${(SILENT_BEATS * HEARTBEAT_MS) / 1000} s, so its process is gone ` +
          "(an algorithm that exhausts the JavaScript heap ends it); a new frame was made",
      );
    }
  }

  /** The frame is gone (removed, or dead) and took its workers with it: end their tasks, start a new frame. */
  private replace(reason: string): void {
    this.iframe.remove();
    this.loaded = false;
    this.ping = null;
    for (const crash of this.crashes.values()) crash(reason);
    this.crashes.clear();
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    this.iframe = makeIframe();
    this.ready = this.load(this.timeoutMs);
    this.ready.catch(() => {}); // each spawn's own timeout reports a frame that never comes back
  }

  private confirm(id: number): void {
    clearTimeout(this.pending.get(id));
    this.pending.delete(id);
  }

  private post(message: ToFrame, transfer: Transferable[] = []): void {
    this.iframe.contentWindow?.postMessage(message, "*", transfer);
  }
}
