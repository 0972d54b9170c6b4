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
import { consoleLogger } from "./events.js";
import { isShare, MAX_THREADS, MIN_SHARE } from "./policy/rules.js";
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

// The script tag's messages are for the site owner, in the console (a data attribute cannot carry a logger).
const say = (message: string) => consoleLogger.error(`motivus: ${message}`);

interface Settings {
  /** Unset: createWorker's default, the production cluster. */
  cluster: string | undefined;
  token: string | undefined;
  threads: number | undefined;
  lang: string | undefined;
  position: Position;
  share: number | undefined;
}

/** A setting as given, and where: `data-cpu-share` or `window.Motivus.cpuShare`. */
interface Given {
  value: unknown;
  where: string;
}

/** Each setting from its data attribute, else from `window.Motivus`. */
function reader(script: HTMLScriptElement | null, preset: Preset): (key: keyof Preset & string) => Given | null {
  const data = script?.dataset ?? {};
  return (key) => {
    if (data[key] !== undefined)
      return { value: data[key], where: `data-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` };
    if (preset[key] !== undefined && preset[key] !== null) return { value: preset[key], where: `window.Motivus.${key}` };
    return null;
  };
}

/** Name a bad setting in the console; it is left at its default (undefined). */
function refuse(given: Given, what: string, fallback: string): undefined {
  say(`${given.where}=${JSON.stringify(given.value)} is not ${what}; ${fallback}`);
  return undefined;
}

/** A cluster address, or null; a relative one is this site's own cluster (data-cluster="/" on a page served by it). */
function clusterFrom({ value }: Given): string | null {
  let url: URL | null;
  try {
    url = typeof value === "string" && value ? new URL(value, document.baseURI) : null;
  } catch {
    url = null;
  }
  return url && /^(wss?|https?):$/.test(url.protocol) ? url.href : null;
}

function tokenFrom(given: Given): string | undefined {
  const value = typeof given.value === "number" ? String(given.value) : given.value;
  if (typeof value === "string" && value.trim()) return value.trim();
  return refuse(given, "a token", "a guest token is used");
}

function threadsFrom(given: Given): number | undefined {
  const n = Number(given.value);
  if (Number.isInteger(n) && n >= 1 && n <= MAX_THREADS && given.value !== "") return n;
  return refuse(given, `a whole number from 1 to ${MAX_THREADS}`, "the default is used");
}

function langFrom(given: Given): string | undefined {
  if (given.value === "en" || given.value === "es") return given.value;
  return refuse(given, `"en" or "es"`, "the page's language is used");
}

function positionFrom(given: Given): Position | undefined {
  if ((POSITIONS as readonly unknown[]).includes(given.value)) return given.value as Position;
  return refuse(given, `one of ${POSITIONS.join(", ")}`, "bottom-right is used");
}

function shareFrom(given: Given): number | undefined {
  const n = Number(given.value);
  if (isShare(n)) return n;
  return refuse(given, `a share from ${MIN_SHARE} to 1`, "the default is used");
}

/** The settings; a bad one is named in the console and left at its default, a bad cluster hides the widget (null). */
function settings(script: HTMLScriptElement | null, preset: Preset): Settings | null {
  const read = reader(script, preset);
  const parse = <T>(given: Given | null, from: (given: Given) => T) => (given ? from(given) : undefined);
  const clusterIn = read("cluster");
  const cluster = parse(clusterIn, clusterFrom);
  if (cluster === null) {
    const what = "a cluster address (wss://host/socket, or an http(s) address of a loopback cluster)";
    refuse(clusterIn!, what, "the widget is not shown");
    return null;
  }
  return {
    cluster,
    token: parse(read("token") ?? read("client_id"), tokenFrom),
    threads: parse(read("threads"), threadsFrom),
    lang: parse(read("lang"), langFrom),
    position: parse(read("position"), positionFrom) ?? "bottom-right",
    share: parse(read("cpuShare"), shareFrom),
  };
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
