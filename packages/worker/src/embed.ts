/**
 * The script-tag entry:
 *
 *   <script src=".../motivus-embed.js" async data-cluster="wss://…/socket"
 *           data-token="…" data-threads="2" data-lang="es" data-position="bottom-left"></script>
 *
 * mounts the visitor's widget (ui/widget.ts). Options may also be set before
 * the tag as `window.Motivus = { cluster, token, threads, lang, position, cpuShare }`
 * (the original widget's `client_id` is read as the token); a data attribute
 * wins over the same key there. After load, `window.Motivus` is a small API:
 * `start()`, `stop()`, `withdraw()`, `open()`, `close()`, `on(event, listener)`.
 *
 * Nothing but the widget loads before the visitor agrees: the worker library
 * (`motivus-worker.js`, beside this file) is imported only then. A bad option
 * is reported in the console by name and never breaks the host page.
 */
import type { MotivusWorker, WorkerOptions } from "./index.js";
import { defineWidget, POSITIONS, WIDGET_TAG, type MotivusWidget, type Position, type WidgetEvents } from "./ui/widget.js";

/** `window.Motivus` before the tag: settings (the original widget set `client_id`). */
interface Preset {
  cluster?: unknown;
  token?: unknown;
  client_id?: unknown;
  threads?: unknown;
  lang?: unknown;
  position?: unknown;
  cpuShare?: unknown;
}
const PRESET_KEYS = ["cluster", "token", "client_id", "threads", "lang", "position", "cpuShare"];

/** `window.Motivus` after the tag. */
export interface MotivusApi extends Preset {
  /** Start working, remembering consent: call it only once the visitor agreed (e.g. from your own button). */
  start(): Promise<void>;
  stop(): void;
  /** Stop and forget the visitor's consent and totals. */
  withdraw(): void;
  open(): void;
  close(): void;
  on<K extends keyof WidgetEvents>(event: K, listener: (value: WidgetEvents[K]) => void): () => void;
}

declare global {
  interface Window {
    Motivus?: MotivusApi | Preset;
  }
}

const say = (message: string) => console.error(`motivus: ${message}`);

interface Settings {
  /** Unset: createWorker's default, the production cluster. */
  cluster: string | undefined;
  token: string | undefined;
  threads: number | undefined;
  lang: string | undefined;
  position: Position;
  share: number | undefined;
}

/** Each setting from its data attribute, else from `window.Motivus`; a bad one is named in the console and left at its default. */
function settings(script: HTMLScriptElement | null, preset: Preset): Settings | null {
  const data = script?.dataset ?? {};
  const raw = (key: keyof Preset & string): { value: unknown; where: string } | null => {
    if (data[key] !== undefined)
      return { value: data[key], where: `data-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` };
    if (preset[key] !== undefined && preset[key] !== null) return { value: preset[key], where: `window.Motivus.${key}` };
    return null;
  };
  const bad = (where: string, value: unknown, what: string, fallback: string) =>
    void say(`${where}=${JSON.stringify(value)} is not ${what}; ${fallback}`);

  const clusterIn = raw("cluster");
  let cluster: string | undefined;
  if (clusterIn) {
    // A relative address is this site's own cluster: data-cluster="/" on a page served by it.
    let url: URL | null;
    try {
      url = typeof clusterIn.value === "string" && clusterIn.value ? new URL(clusterIn.value, document.baseURI) : null;
    } catch {
      url = null;
    }
    if (!url || !/^(wss?|https?):$/.test(url.protocol)) {
      bad(
        clusterIn.where,
        clusterIn.value,
        "a cluster address (wss://host/socket, or an http(s) address of a loopback cluster)",
        "the widget is not shown",
      );
      return null;
    }
    cluster = url.href;
  }

  const tokenIn = raw("token") ?? raw("client_id");
  let token: string | undefined;
  if (tokenIn) {
    const value = typeof tokenIn.value === "number" ? String(tokenIn.value) : tokenIn.value;
    if (typeof value === "string" && value.trim()) token = value.trim();
    else bad(tokenIn.where, tokenIn.value, "a token", "a guest token is used");
  }

  const threadsIn = raw("threads");
  let threads: number | undefined;
  if (threadsIn) {
    const n = Number(threadsIn.value);
    if (Number.isInteger(n) && n >= 1 && n <= 64 && threadsIn.value !== "") threads = n;
    else bad(threadsIn.where, threadsIn.value, "a whole number from 1 to 64", "the default is used");
  }

  const langIn = raw("lang");
  let lang: string | undefined;
  if (langIn) {
    if (langIn.value === "en" || langIn.value === "es") lang = langIn.value;
    else bad(langIn.where, langIn.value, `"en" or "es"`, "the page's language is used");
  }

  const positionIn = raw("position");
  let position: Position = "bottom-right";
  if (positionIn) {
    if ((POSITIONS as readonly unknown[]).includes(positionIn.value)) position = positionIn.value as Position;
    else bad(positionIn.where, positionIn.value, `one of ${POSITIONS.join(", ")}`, "bottom-right is used");
  }

  const shareIn = raw("cpuShare");
  let share: number | undefined;
  if (shareIn) {
    const n = Number(shareIn.value);
    if (n >= 0.1 && n <= 1) share = n;
    else bad(shareIn.where, shareIn.value, "a share from 0.1 to 1", "the default is used");
  }
  return { cluster, token, threads, lang, position, share };
}

function setUp(): void {
  const script = document.currentScript as HTMLScriptElement | null;
  const found = window.Motivus;
  if (found && typeof (found as MotivusApi).start === "function") {
    say("the embed script is on this page twice; the second copy does nothing");
    return;
  }
  const preset: Preset = found && typeof found === "object" ? found : {};
  const unknown = Object.keys(preset).filter((key) => !PRESET_KEYS.includes(key));
  if (unknown.length) say(`window.Motivus has settings nobody reads: ${unknown.join(", ")} (known: ${PRESET_KEYS.join(", ")})`);

  // The worker library sits beside this file; only a visitor who agreed loads it.
  const src = script?.src || document.querySelector<HTMLScriptElement>('script[src*="motivus-embed"]')?.src;
  const config = settings(script, preset);
  const api: MotivusApi = { ...preset } as MotivusApi;
  let widget: MotivusWidget | null = null;
  const missing = () => say("the widget is not set up (see the error above)");
  api.start = () => (widget ? widget.start() : Promise.resolve(missing()));
  api.stop = () => (widget ? widget.stop() : missing());
  api.withdraw = () => (widget ? widget.withdraw() : missing());
  api.open = () => widget?.open();
  api.close = () => widget?.close();
  api.on = (event, listener) => (widget ? widget.on(event, listener) : (missing(), () => false));
  window.Motivus = api;
  if (!config) return;
  if (!src) return say("cannot tell where motivus-embed.js was loaded from, so cannot find motivus-worker.js beside it");

  const load = async (): Promise<MotivusWorker> => {
    const library = (await import(/* @vite-ignore */ new URL("motivus-worker.js", src).href)) as typeof import("./index.js");
    // The original widget's snippet set `Motivus.client_id` after an async tag: read it now too.
    const token = config.token ?? [api.token, api.client_id].find((v): v is string => typeof v === "string" && v.length > 0);
    const options: WorkerOptions = {
      ...(config.cluster ? { cluster: config.cluster } : {}),
      ...(token ? { token } : {}),
      ...(config.threads ? { threads: config.threads } : {}),
    };
    return library.createWorker(options);
  };

  defineWidget();
  widget = (document.createElement(WIDGET_TAG) as MotivusWidget).configure({
    load,
    lang: config.lang,
    position: config.position,
    threads: config.threads,
    share: config.share,
  });
  // Fixed in place even if the host's CSS targets it: inline !important outranks the page's stylesheets.
  widget.style.setProperty("position", "fixed", "important");
  const mount = () => (document.body ?? document.documentElement).append(widget!);
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
}

try {
  setUp();
} catch (err) {
  say(`the widget could not be set up: ${(err as Error)?.message ?? err}`);
}
