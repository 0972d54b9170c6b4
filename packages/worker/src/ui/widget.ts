/**
 * The visitor's widget: a custom element with a shadow root, vanilla DOM.
 * Nothing is loaded or computes before the visitor agrees; the worker library
 * comes through `load()` only then. The choice is remembered (store.ts) and
 * can be withdrawn. It shows what runs now, why it is paused, what this
 * browser gave, and the cluster's numbers; it collapses to a small button.
 *
 * The page's main thread stays idle: text is written only when it changes,
 * and the one timer (elapsed times) ticks only while the panel is open and a
 * task runs.
 */
import { Emitter } from "../events.js";
import type { MotivusWorker, WorkerEvents } from "../index.js";
import { defaultThreads, MAX_THREADS, MIN_SHARE } from "../policy/rules.js";
import { deviceMemory } from "../policy/signals.js";
import { cpuChart } from "./chart.js";
import { h, s } from "./dom.js";
import { addTask, forget, lastDays, load, save, STORE_KEY, type Saved } from "./store.js";
import { duration, pickLang, STRINGS, type Strings } from "./strings.js";
import { adoptStyles, CSS } from "./styles.js";

export const WIDGET_TAG = "motivus-widget";
export const POSITIONS = ["bottom-right", "bottom-left", "top-right", "top-left"] as const;
export type Position = (typeof POSITIONS)[number];

/** What the widget needs of a worker (the library's `MotivusWorker`). */
export type WidgetWorker = Pick<MotivusWorker, "state" | "budget" | "start" | "stop" | "setThreads" | "setCpuShare" | "on">;

export interface WidgetOptions {
  /** Loads the worker library and makes the worker; called once, after the visitor agreed. */
  load: () => Promise<WidgetWorker>;
  lang?: string | null;
  position?: Position;
  /** The site's default threads (the visitor's own choice wins). */
  threads?: number;
  /** The default CPU share, from MIN_SHARE (0.05) to 1 (the visitor's own choice wins). Default 0.5. */
  share?: number;
}

export interface WidgetEvents extends WorkerEvents {
  /** The visitor agreed (`given: true`) or withdrew. */
  consent: { given: boolean };
}

type Tone = "ok" | "warn" | "bad" | "off";

const STAT_KEYS = ["workers", "queued", "running", "done"] as const;

function mark(): SVGSVGElement {
  return s(
    "svg",
    { class: "mark", viewBox: "0 0 28 28", "aria-hidden": "true", focusable: "false" },
    s("circle", { class: "ring", cx: 14, cy: 14, r: 14 }),
    s("path", {
      d: "M8 19V9.5l6 6 6-6V19",
      fill: "none",
      stroke: "currentColor",
      "stroke-width": 2.6,
      "stroke-linecap": "round",
      "stroke-linejoin": "round",
    }),
  );
}

const id = (name: string) => `motivus-${name}`;
const dot = () => h("span", { class: "dot", "aria-hidden": "true" });

/** The button the widget collapses to. */
function pillParts(t: Strings) {
  const pillDot = dot();
  const pillLabel = h("span", {}, t.pill.ask);
  const pill = h(
    "button",
    { type: "button", class: "pill", "aria-expanded": "false", "aria-controls": id("panel") },
    mark(),
    h("span", { class: "sr" }, `${t.brand}: `),
    pillLabel,
    pillDot,
  );
  return { pill, pillDot, pillLabel };
}

/** What a visitor who has not agreed sees. */
function consentParts(t: Strings) {
  const agree = h("button", { type: "button", class: "btn" }, t.agree);
  const notNow = h("button", { type: "button", class: "btn secondary" }, t.notNow);
  const consent = h(
    "div",
    {},
    h("p", {}, t.intro),
    h("p", { class: "muted" }, t.promise),
    h("div", { class: "row" }, agree, notNow),
  );
  return { consent, agree, notNow };
}

/** The threads and CPU share sliders; their aria-valuetext says the value, so the visible copy is not read twice. */
function sliderParts(maxThreads: number) {
  const threadsOut = h("span", { class: "value", "aria-hidden": "true" });
  const threads = h("input", { type: "range", id: id("threads"), min: 1, max: maxThreads, step: 1 });
  const shareOut = h("span", { class: "value", "aria-hidden": "true" });
  // In percent, by tenths: its lowest stop is the first tenth above MIN_SHARE.
  const share = h("input", { type: "range", id: id("share"), min: 10, max: 100, step: 10, "aria-describedby": id("share-hint") });
  return { threadsOut, threads, shareOut, share };
}

/** What a visitor who agreed sees: status, start/stop, sliders, tasks, contribution, cluster, withdraw. */
function controlParts(t: Strings, maxThreads: number) {
  const statusDot = dot();
  const statusText = h("span", {});
  const status = h("div", { class: "status", role: "status" }, statusDot, statusText);
  const toggle = h("button", { type: "button", class: "btn" }, t.start);
  const sliders = sliderParts(maxThreads);
  const tasks = h("ul", { "aria-label": t.runningNow });
  const total = h("p", { class: "total" });
  const chart = h("div", {});
  const cluster = h("p", { class: "muted" }, t.waitingForCluster);
  const withdraw = h("button", { type: "button", class: "link", "aria-describedby": id("withdraw-hint") }, t.withdraw);
  const controls = h(
    "div",
    {},
    status,
    h("div", { class: "row" }, toggle),
    h("label", {}, t.threads, sliders.threadsOut, sliders.threads),
    h("label", {}, t.cpuShare, sliders.shareOut, sliders.share),
    h("p", { class: "muted", id: id("share-hint") }, t.cpuShareHint),
    h("h3", {}, t.runningNow),
    tasks,
    h("h3", {}, t.contributed),
    total,
    chart,
    h("h3", {}, t.cluster),
    cluster,
    h("p", { class: "muted" }, t.threadedPrograms(globalThis.crossOriginIsolated === true)),
    withdraw,
    h("p", { class: "muted", id: id("withdraw-hint") }, t.withdrawHint),
  );
  return { controls, status, statusDot, statusText, toggle, ...sliders, tasks, total, chart, cluster, withdraw };
}

/** The widget's elements that change or listen. */
type WidgetDom = ReturnType<typeof pillParts> &
  ReturnType<typeof consentParts> &
  ReturnType<typeof controlParts> & {
    title: HTMLHeadingElement;
    closeButton: HTMLButtonElement;
    panel: HTMLDivElement;
    root: HTMLElement;
  };

export class MotivusWidget extends HTMLElement {
  private options: WidgetOptions | null = null;
  private t: Strings = STRINGS.en;
  private saved: Saved = load();
  private worker: WidgetWorker | null = null;
  private loading: Promise<WidgetWorker> | null = null;
  private error: string | null = null;
  private stateReason: string | null = null;
  private readonly events = new Emitter<WidgetEvents>();
  private readonly running = new Map<string, number>();
  private tick: ReturnType<typeof setInterval> | null = null;
  private ui: WidgetDom | null = null;
  private readonly onStorage = (event: StorageEvent) => {
    if (event.key === STORE_KEY || event.key === null) this.follow(load());
  };

  /** Set it up (once); it renders when in the document. A remembered "yes, running" starts at once. */
  configure(options: WidgetOptions): this {
    this.options = options;
    this.t = STRINGS[pickLang(options.lang)];
    if (options.position) this.dataset.position = options.position;
    if (this.isConnected) this.render();
    return this;
  }

  connectedCallback(): void {
    if (this.options) this.render();
    addEventListener("storage", this.onStorage);
  }

  disconnectedCallback(): void {
    removeEventListener("storage", this.onStorage);
    this.stopTicking();
  }

  on<K extends keyof WidgetEvents>(event: K, listener: (value: WidgetEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /** The visitor agreed (or the site asks on their behalf, after asking them): remember it and start. */
  async start(): Promise<void> {
    const first = !this.saved.consent;
    this.remember({ consent: true, running: true });
    if (first) this.events.emit("consent", { given: true });
    this.error = null;
    this.update();
    try {
      const worker = await this.ensureWorker();
      if (!this.saved.running) return;
      await worker.start();
    } catch (err) {
      this.error = (err as Error).message;
      this.update();
    }
  }

  stop(): void {
    this.remember({ running: false });
    this.worker?.stop();
    this.update();
  }

  /** Withdraw consent: stop, and forget the choice and the totals kept in this browser. */
  withdraw(): void {
    this.worker?.stop();
    const had = this.saved.consent;
    this.saved = forget();
    this.running.clear();
    this.error = null;
    if (had) this.events.emit("consent", { given: false });
    this.update();
  }

  open(): void {
    if (!this.ui) return;
    this.ui.panel.hidden = false;
    this.ui.pill.setAttribute("aria-expanded", "true");
    this.update();
    this.ui.title.focus();
  }

  close(): void {
    if (!this.ui) return;
    const hadFocus = this.shadowRoot?.activeElement !== null;
    this.ui.panel.hidden = true;
    this.ui.pill.setAttribute("aria-expanded", "false");
    this.stopTicking();
    if (hadFocus) this.ui.pill.focus();
  }

  get expanded(): boolean {
    return this.ui ? !this.ui.panel.hidden : false;
  }

  private ensureWorker(): Promise<WidgetWorker> {
    if (this.worker) return Promise.resolve(this.worker);
    this.loading ??= this.options!.load().then(
      (worker) => {
        this.worker = worker;
        this.listen(worker);
        worker.setThreads(this.threads);
        worker.setCpuShare(this.share);
        return worker;
      },
      (err: Error) => {
        this.loading = null;
        throw err;
      },
    );
    this.update();
    return this.loading;
  }

  private listen(worker: WidgetWorker): void {
    const forward = <K extends keyof WorkerEvents>(event: K, also?: (value: WorkerEvents[K]) => void) =>
      worker.on(event, (value) => {
        also?.(value);
        this.events.emit(event, value as WidgetEvents[K]);
      });
    forward("state", ({ reason }) => {
      this.stateReason = reason;
      this.update();
    });
    forward("budget", () => this.update());
    forward("stats", (stats) => this.showStats(stats));
    forward("taskStarted", ({ tid }) => {
      this.running.set(tid, performance.now());
      this.showRunning();
    });
    // A contribution is a task whose answer reached the cluster (not one aborted or cut by a lost connection).
    const ended = ({ tid, ms, answered }: { tid: string; ms: number; answered: boolean }) => {
      this.running.delete(tid);
      if (answered) {
        this.saved = { ...addTask(load(), ms), consent: this.saved.consent, running: this.saved.running };
        save(this.saved);
      }
      this.showRunning();
      this.showContribution();
    };
    forward("taskFinished", ended);
    forward("taskFailed", ended);
  }

  /** Another tab changed the stored choice: follow it (withdrawn or stopped there means here too). */
  private follow(next: Saved): void {
    const was = this.saved;
    this.saved = next;
    if (!next.consent && was.consent) this.withdraw();
    else if (next.consent && !next.running && this.worker) this.worker.stop();
    else if (next.consent && next.running && !was.running) void this.start();
    if (this.worker && next.threads !== undefined) this.worker.setThreads(this.threads);
    if (this.worker && next.share !== undefined) this.worker.setCpuShare(this.share);
    this.update();
  }

  private remember(patch: Partial<Saved>): void {
    this.saved = { ...load(), ...patch };
    save(this.saved);
  }

  private get maxThreads(): number {
    // The slider reaches the cores, or what the site or the visitor chose (up to MAX_THREADS).
    return Math.min(
      MAX_THREADS,
      Math.max(1, navigator.hardwareConcurrency || 4, this.saved.threads ?? 1, this.options?.threads ?? 1),
    );
  }

  private get threads(): number {
    const chosen = this.saved.threads ?? this.options?.threads ?? defaultThreads(navigator.hardwareConcurrency, deviceMemory());
    return Math.min(this.maxThreads, Math.max(1, Math.round(chosen)));
  }

  private get share(): number {
    const share = this.saved.share ?? this.options?.share ?? 0.5;
    return Math.min(1, Math.max(MIN_SHARE, share));
  }

  private render(): void {
    if (this.ui) return;
    const root = this.shadowRoot ?? this.attachShadow({ mode: "open" });
    adoptStyles(root, CSS);
    this.ui = this.build();
    root.append(this.ui.root);
    this.update();
    this.showContribution();
    if (this.saved.consent && this.saved.running) void this.start();
  }

  private build(): WidgetDom {
    const t = this.t;
    const parts = { ...pillParts(t), ...consentParts(t), ...controlParts(t, this.maxThreads) };
    const title = h("h2", { id: id("title"), tabindex: -1 }, h("small", {}, t.brand), t.title);
    const closeButton = h("button", { type: "button", class: "icon", "aria-label": t.close, title: t.close }, "–");
    const panel = h(
      "div",
      { class: "panel", id: id("panel"), role: "group", "aria-labelledby": id("title"), hidden: true },
      h("header", {}, mark(), title, closeButton),
      parts.consent,
      parts.controls,
    );
    const root = h("aside", { class: "root", "aria-label": t.brand, lang: t === STRINGS.es ? "es" : "en" }, parts.pill, panel);
    const ui = { ...parts, title, closeButton, panel, root };
    this.wire(ui);
    return ui;
  }

  /** What each control does. */
  private wire(ui: WidgetDom): void {
    ui.pill.addEventListener("click", () => (this.expanded ? this.close() : this.open()));
    ui.closeButton.addEventListener("click", () => this.close());
    ui.panel.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        this.close();
      }
    });
    ui.agree.addEventListener("click", () => {
      void this.start();
      ui.toggle.focus();
    });
    ui.notNow.addEventListener("click", () => this.close());
    ui.toggle.addEventListener("click", () => (this.saved.running ? this.stop() : void this.start()));
    ui.withdraw.addEventListener("click", () => {
      this.withdraw();
      ui.agree.focus();
    });
    ui.threads.addEventListener("input", () => {
      this.remember({ threads: Number(ui.threads.value) });
      this.worker?.setThreads(this.threads);
      this.update();
    });
    ui.share.addEventListener("input", () => {
      this.remember({ share: Number(ui.share.value) / 100 });
      this.worker?.setCpuShare(this.share);
      this.update();
    });
  }

  /** The status in words and a colour, for the panel and the button. */
  private describe(): { text: string; tone: Tone; pill: string; busy: boolean } {
    const { t, worker } = this;
    if (!this.saved.consent) return { text: t.state.notStarted, tone: "off", pill: t.pill.ask, busy: false };
    if (this.error) return { text: `${t.state.error}: ${this.error}`, tone: "bad", pill: t.pill.error, busy: false };
    if (!this.saved.running) return { text: t.state.stopped, tone: "off", pill: t.pill.stopped, busy: false };
    if (!worker) return { text: t.state.loading, tone: "warn", pill: t.pill.waiting, busy: false };
    const budget = worker.budget;
    const why = budget.paused ? t.reasons[budget.paused] : "";
    switch (worker.state) {
      case "connecting":
        return { text: t.state.connecting, tone: "warn", pill: t.pill.waiting, busy: false };
      case "reconnecting":
        return { text: t.state.reconnecting, tone: "warn", pill: t.pill.waiting, busy: false };
      case "waiting":
        return { text: `${t.state.waiting}: ${why}`, tone: "warn", pill: t.pill.waiting, busy: false };
      case "error":
        return { text: `${t.state.error}: ${this.stateReason ?? ""}`, tone: "bad", pill: t.pill.error, busy: false };
      case "running": {
        if (budget.paused) return { text: `${t.state.paused}: ${why}`, tone: "warn", pill: t.pill.paused, busy: false };
        const limits = budget.limits.map((r) => t.reasons[r]);
        const text = t.state.working(budget.threads) + (limits.length ? ` (${limits.join("; ")})` : "");
        return { text, tone: "ok", pill: t.pill.working, busy: this.running.size > 0 };
      }
      default:
        return { text: t.state.stopped, tone: "off", pill: t.pill.stopped, busy: false };
    }
  }

  private update(): void {
    const ui = this.ui;
    if (!ui) return;
    const { text, tone, pill, busy } = this.describe();
    setText(ui.statusText, text);
    setText(ui.pillLabel, pill);
    for (const dot of [ui.statusDot, ui.pillDot]) {
      dot.dataset.tone = tone;
      dot.toggleAttribute("data-busy", busy);
    }
    ui.consent.hidden = this.saved.consent;
    ui.controls.hidden = !this.saved.consent;
    setText(ui.toggle, this.saved.running ? this.t.stop : this.t.start);
    ui.threads.max = String(this.maxThreads);
    ui.threads.value = String(this.threads);
    setText(ui.threadsOut, String(this.threads));
    ui.threads.setAttribute("aria-valuetext", `${this.threads}`);
    const percent = `${Math.round(this.share * 100)} %`;
    ui.share.value = String(Math.round(this.share * 100));
    ui.share.setAttribute("aria-valuetext", percent);
    setText(ui.shareOut, percent);
    this.showRunning();
  }

  private showRunning(): void {
    const ui = this.ui;
    if (!ui) return;
    const now = performance.now();
    const rows = [...this.running].map(([tid, since]) =>
      h("li", {}, h("span", {}, `${this.t.task} `, h("code", {}, tid.slice(0, 8))), h("span", {}, duration(now - since))),
    );
    ui.tasks.replaceChildren(...(rows.length ? rows : [h("li", {}, this.t.noTask)]));
    if (rows.length && this.expanded) this.startTicking();
    else this.stopTicking();
  }

  private showContribution(): void {
    const ui = this.ui;
    if (!ui) return;
    setText(ui.total, `${this.t.tasks(this.saved.tasks)} · ${duration(this.saved.cpuMs)} ${this.t.ofCpu}`);
    ui.chart.replaceChildren(cpuChart(lastDays(this.saved), this.t.chart));
  }

  private showStats(stats: Record<string, unknown>): void {
    if (!this.ui) return;
    const counts = Object.fromEntries(STAT_KEYS.map((k) => [k, Number(stats[k] ?? 0)])) as Record<
      (typeof STAT_KEYS)[number],
      number
    >;
    if (STAT_KEYS.some((k) => typeof stats[k] === "number")) setText(this.ui.cluster, this.t.clusterLine(counts));
  }

  private startTicking(): void {
    this.tick ??= setInterval(() => this.showRunning(), 1000);
  }

  private stopTicking(): void {
    if (this.tick !== null) clearInterval(this.tick);
    this.tick = null;
  }
}

function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** Register the element once (a second embed on the page reuses it). */
export function defineWidget(): typeof MotivusWidget {
  const existing = customElements.get(WIDGET_TAG) as typeof MotivusWidget | undefined;
  if (existing) return existing;
  customElements.define(WIDGET_TAG, MotivusWidget);
  return MotivusWidget;
}
