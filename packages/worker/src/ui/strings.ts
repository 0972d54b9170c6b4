/** What the widget says, in English and Spanish (`data-lang="en|es"`). */
import { describeReason, Reason } from "../policy/rules.js";

export type Lang = "en" | "es";

export interface Strings {
  brand: string;
  title: string;
  intro: string;
  promise: string;
  agree: string;
  notNow: string;
  start: string;
  stop: string;
  withdraw: string;
  withdrawHint: string;
  close: string;
  threads: string;
  cpuShare: string;
  cpuShareHint: string;
  runningNow: string;
  task: string;
  noTask: string;
  contributed: string;
  tasks: (n: number) => string;
  ofCpu: string;
  chart: (summary: string) => string;
  cluster: string;
  clusterLine: (c: { workers: number; queued: number; running: number; done: number }) => string;
  waitingForCluster: string;
  /** Whether -pthread programs can run on this page (it is cross-origin isolated). */
  threadedPrograms: (can: boolean) => string;
  pill: { ask: string; working: string; paused: string; waiting: string; stopped: string; error: string };
  state: {
    notStarted: string;
    stopped: string;
    connecting: string;
    reconnecting: string;
    working: (threads: number) => string;
    paused: string;
    waiting: string;
    error: string;
    loading: string;
  };
  reasons: Record<Reason, string>;
}

/** The English reasons are the library's own, worded once (policy/rules.ts `describeReason`, default rules: the script tag never changes them). */
const englishReasons = (): Record<Reason, string> =>
  Object.fromEntries(Object.values(Reason).map((reason) => [reason, describeReason(reason)])) as Record<Reason, string>;

const en: Strings = {
  brand: "Motivus",
  title: "Lend spare computing power",
  intro: "This site invites you to lend your browser's spare computing power to research that runs on the Motivus cluster.",
  promise:
    "Nothing runs until you agree. Tasks run in a sandbox that cannot see this site or your data. It pauses when this page is hidden or your battery is low, and you can stop or withdraw at any time.",
  agree: "Agree and start",
  notNow: "Not now",
  start: "Start",
  stop: "Stop",
  withdraw: "Withdraw consent",
  withdrawHint: "Stops the work and forgets your choice and totals in this browser.",
  close: "Close the Motivus panel",
  threads: "Threads",
  cpuShare: "CPU share",
  cpuShareHint: "Each thread rests between tasks to use at most this share of a core.",
  runningNow: "Running now",
  task: "Task",
  noTask: "No task right now.",
  contributed: "Contributed by this browser",
  tasks: (n) => `${n} ${n === 1 ? "task" : "tasks"}`,
  ofCpu: "of CPU time",
  chart: (summary) => `CPU time per day, last 14 days: ${summary}`,
  cluster: "Cluster",
  clusterLine: (c) =>
    `${c.workers} ${c.workers === 1 ? "worker" : "workers"} · ${c.queued} queued · ${c.running} running · ${c.done} done`,
  waitingForCluster: "No numbers from the cluster yet.",
  threadedPrograms: (can) =>
    can
      ? "Multithreaded programs can run on this page."
      : "Multithreaded programs cannot run on this page (it is not cross-origin isolated).",
  pill: { ask: "Help research", working: "Working", paused: "Paused", waiting: "Waiting", stopped: "Stopped", error: "Problem" },
  state: {
    notStarted: "Not started: nothing runs until you agree",
    stopped: "Stopped",
    connecting: "Connecting…",
    reconnecting: "Connection lost, reconnecting…",
    working: (n) => `Working with ${n} ${n === 1 ? "thread" : "threads"}`,
    paused: "Paused",
    waiting: "Waiting",
    error: "Could not start",
    loading: "Loading…",
  },
  reasons: englishReasons(),
};

const es: Strings = {
  brand: "Motivus",
  title: "Presta poder de cómputo",
  intro:
    "Este sitio te invita a prestar el poder de cómputo que tu navegador no usa a investigaciones que corren en el clúster Motivus.",
  promise:
    "Nada se ejecuta hasta que aceptes. Las tareas corren en un entorno aislado que no ve este sitio ni tus datos. Se pausa cuando esta página está oculta o tu batería está baja, y puedes detenerlo o retirar tu consentimiento cuando quieras.",
  agree: "Aceptar y comenzar",
  notNow: "Ahora no",
  start: "Comenzar",
  stop: "Detener",
  withdraw: "Retirar consentimiento",
  withdrawHint: "Detiene el trabajo y olvida tu elección y tus totales en este navegador.",
  close: "Cerrar el panel de Motivus",
  threads: "Hilos",
  cpuShare: "Uso de CPU",
  cpuShareHint: "Cada hilo descansa entre tareas para usar a lo más esta fracción de un núcleo.",
  runningNow: "En ejecución",
  task: "Tarea",
  noTask: "Ninguna tarea por ahora.",
  contributed: "Aporte de este navegador",
  tasks: (n) => `${n} ${n === 1 ? "tarea" : "tareas"}`,
  ofCpu: "de tiempo de CPU",
  chart: (summary) => `Tiempo de CPU por día, últimos 14 días: ${summary}`,
  cluster: "Clúster",
  clusterLine: (c) =>
    `${c.workers} ${c.workers === 1 ? "trabajador" : "trabajadores"} · ${c.queued} en cola · ${c.running} en curso · ${c.done} listas`,
  waitingForCluster: "Aún no hay cifras del clúster.",
  threadedPrograms: (can) =>
    can
      ? "Los programas multihilo pueden ejecutarse en esta página."
      : "Los programas multihilo no pueden ejecutarse en esta página (no está aislada entre orígenes).",
  pill: {
    ask: "Ayuda a la ciencia",
    working: "Trabajando",
    paused: "En pausa",
    waiting: "En espera",
    stopped: "Detenido",
    error: "Problema",
  },
  state: {
    notStarted: "Sin comenzar: nada se ejecuta hasta que aceptes",
    stopped: "Detenido",
    connecting: "Conectando…",
    reconnecting: "Se perdió la conexión, reconectando…",
    working: (n) => `Trabajando con ${n} ${n === 1 ? "hilo" : "hilos"}`,
    paused: "En pausa",
    waiting: "En espera",
    error: "No se pudo comenzar",
    loading: "Cargando…",
  },
  reasons: {
    offline: "no hay conexión a internet",
    "other-tab": "trabajando en otra pestaña de este sitio",
    hidden: "esta página está oculta",
    "battery-low": "la batería está baja",
    battery: "con batería: un hilo",
    "pressure-critical": "tu computador está muy ocupado",
    "pressure-serious": "tu computador está ocupado: un hilo",
    "save-data": "ahorro de datos: se rechazan descargas grandes",
  },
};

export const STRINGS: Record<Lang, Strings> = { en, es };

/** `data-lang` when given, else the host page's `lang`, else the browser's language; English unless Spanish. */
export function pickLang(given: string | null | undefined): Lang {
  const guess = given || document.documentElement.lang || navigator.language || "en";
  return guess.toLowerCase().startsWith("es") ? "es" : "en";
}

/** `45 s`, `3 min 20 s`, `2 h 5 min` (the same in both languages). */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const hours = Math.floor(m / 60);
  return m % 60 ? `${hours} h ${m % 60} min` : `${hours} h`;
}
