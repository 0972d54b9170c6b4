/**
 * The loopback's bundle store (docs/protocol.md, "Bundles by reference"): every inline `wasm` and
 * `loader` a driver sends, decoded and kept once by SHA-256, so a worker that asked for references
 * downloads each program once (and its browser caches it) instead of receiving it in every task.
 *
 * Two things are kept apart:
 * - the stored bytes, at most `maxBytes` (least recently used out first): what the store costs;
 * - which files the tasks in the cluster (queued or running) hold, with each one's inline base64
 *   text, which the task keeps anyway. A held file the store evicted is decoded again from that
 *   text when a worker fetches it, so every reference a worker gets stays servable until its task
 *   ends, and the byte cap still holds. A file larger than the whole cap is never stored: each
 *   fetch of it is decoded from its task.
 *
 * A driver that was told of the store (the driver channel's join reply) uploads each file once
 * (`upload`) and sends `wasm_ref` / `loader_ref` instead of the bytes. Such a task has no text to
 * restore its file from, so while a task holds it by reference the stored file is pinned: never
 * evicted. The cap still holds: what cannot fit beside the pinned files is not stored (an upload
 * is then refused, and the driver sends that file inline).
 *
 * Decoding and hashing happen once per task, at submission (`hold`): about 18 ms for 10 MiB on one
 * core (12 ms base64, 8 ms SHA-256; JSON.parse of that task's frame is 23 ms). A text equal to one a
 * held task carries (a driver sending many tasks of one algorithm) is found by string equality in
 * about 2 ms instead, among the last `MAX_TEXTS` texts.
 */
import { createHash } from "node:crypto";
import { BUNDLE_STORE_PATH, type BundleFileRef, type TaskBody } from "motivus-protocol";

export type BundleKind = "wasm" | "loader";

/** A task's file in the store: what its reference says. */
export interface StoredFile {
  readonly sha256: string;
  readonly size: number;
}

/** The files a task holds, by the body field they came in. */
export type TaskFiles = Partial<Record<BundleKind, StoredFile>>;

/** The store's part of the cluster's statistics. */
export interface BundleStoreCounts {
  stored_bundles: number;
  stored_bundle_bytes: number;
  /** Files drivers uploaded that the store took. */
  bundle_uploads: number;
}

/** A stored file: its bytes and the field it first came in (its Content-Type). */
export interface BundleFile {
  readonly bytes: Buffer;
  readonly kind: BundleKind;
}

/**
 * A file held by tasks in the cluster: its text (one task's own string), for restoring it; none when
 * only tasks that carry it by reference hold it, which pins its stored bytes instead.
 */
interface Held {
  text?: string;
  readonly kind: BundleKind;
  readonly size: number;
  tasks: number;
}

const KINDS = ["wasm", "loader"] as const;
/** Texts looked up by equality before hashing; each comparison of equal texts reads them whole. */
const MAX_TEXTS = 16;
/** What each stored file counts against the cap at least: many tiny files cannot cost more in bookkeeping than in bytes. */
const MIN_CHARGE = 4096;

const charge = (size: number) => Math.max(size, MIN_CHARGE);

/**
 * `bytes` in a buffer of its own: a small decoded buffer is a slice of Node's shared 8 KiB pool,
 * which a stored slice would keep alive (a large one has at most a few bytes of slack).
 */
function unpooled(bytes: Buffer): Buffer {
  if (bytes.buffer.byteLength <= bytes.length + 64) return bytes;
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  return own;
}

export class BundleStore {
  /** Oldest use first. */
  private readonly entries = new Map<string, BundleFile>();
  private readonly held = new Map<string, Held>();
  /** Base64 text → SHA-256, for held files only, the most recent `MAX_TEXTS`. */
  private readonly shaOfText = new Map<string, string>();
  private storedBytes = 0;
  private charged = 0;
  private uploads = 0;

  constructor(private readonly maxBytes: number) {}

  /**
   * A task's files, held until `release`: its inline ones (non-empty `wasm`, `loader`) stored, its
   * references (`wasm_ref`, `loader_ref`) to stored files pinned. A string: why the task is refused
   * (a reference to a file the store does not hold); then nothing is held.
   */
  hold(body: TaskBody): TaskFiles | string {
    const files: TaskFiles = {};
    for (const kind of KINDS) {
      const text = body[kind];
      const ref = body[`${kind}_ref`];
      const held =
        ref && text ? `the task carries both ${kind} and ${kind}_ref; send one of them` : ref ? this.holdRef(ref, kind) : null;
      if (typeof held === "string") {
        this.release(files);
        return held;
      }
      if (held) files[kind] = held;
      else if (text) files[kind] = this.holdText(text, kind);
    }
    return files;
  }

  /**
   * A driver's upload, its hash already checked: stored (or marked used). False when it cannot be:
   * larger than the cap, or no room beside the files tasks pin.
   */
  upload(sha256: string, kind: BundleKind, bytes: Buffer): boolean {
    const stored = this.put(sha256, { bytes: unpooled(bytes), kind });
    if (stored) this.uploads++;
    return stored;
  }

  /** The task that held `files` left the cluster. */
  release(files: TaskFiles): void {
    for (const kind of KINDS) {
      const sha = files[kind]?.sha256;
      const held = sha === undefined ? undefined : this.held.get(sha);
      if (!held || --held.tasks > 0) continue;
      this.held.delete(sha!);
      for (const [text, of] of this.shaOfText) if (of === sha) this.shaOfText.delete(text);
    }
  }

  /**
   * `body` for a worker that takes bundles by reference: each held file as a reference in place of its
   * inline text, its `url` a path the worker resolves on the origin it reached the cluster by (no
   * host in it: fewer bytes per task). A copy: the task may go to an inline worker next. An empty loader stays inline.
   */
  byReference(body: TaskBody, files: TaskFiles): TaskBody {
    const copy: TaskBody = { ...body };
    for (const kind of KINDS) {
      const file = files[kind];
      if (!file) continue;
      delete copy[kind];
      copy[`${kind}_ref`] = { ...file, url: `${BUNDLE_STORE_PATH}${file.sha256}` } satisfies BundleFileRef;
      this.touch(file.sha256); // about to be fetched: not the next one out
    }
    return copy;
  }

  /**
   * `body` for a worker that does not take references: each file the task carries by reference
   * inline again, from the stored bytes (pinned while the task is in the cluster). A copy.
   */
  inline(body: TaskBody, files: TaskFiles): TaskBody {
    const copy: TaskBody = { ...body };
    for (const kind of KINDS) {
      const file = files[kind];
      if (!file || !copy[`${kind}_ref`]) continue;
      const stored = this.file(file.sha256);
      if (!stored)
        throw new Error(`the ${kind} of this task (sha256 ${file.sha256}) left the bundle store while the task held it`);
      delete copy[`${kind}_ref`];
      copy[kind] = stored.bytes.toString("base64");
    }
    return copy;
  }

  /** Whether the store can serve `sha256` (stored, or held by a task). */
  knows(sha256: string): boolean {
    return this.entries.has(sha256) || this.held.has(sha256);
  }

  /** The file, stored or restored from a task that holds it; null when no task or store has it. */
  file(sha256: string): BundleFile | null {
    const entry = this.entries.get(sha256);
    if (entry) {
      this.touch(sha256);
      return entry;
    }
    const held = this.held.get(sha256);
    if (held?.text === undefined) return null;
    const restored = { bytes: unpooled(Buffer.from(held.text, "base64")), kind: held.kind };
    this.put(sha256, restored);
    return restored;
  }

  counts(): BundleStoreCounts {
    return { stored_bundles: this.entries.size, stored_bundle_bytes: this.storedBytes, bundle_uploads: this.uploads };
  }

  /** A reference from a driver's task: held when the store has that file, of that size; else why not. */
  private holdRef(ref: BundleFileRef, kind: BundleKind): StoredFile | string {
    const { sha256, size } = ref;
    const known = this.entries.get(sha256)?.bytes.length ?? this.held.get(sha256)?.size;
    if (known === undefined)
      return `${kind}_ref names a file this cluster does not hold (sha256 ${sha256}): upload it first (PUT ${BUNDLE_STORE_PATH}<sha256>?kind=${kind}) or send the ${kind} inline`;
    if (known !== size) return `${kind}_ref says ${size} bytes, but the file with sha256 ${sha256} has ${known}`;
    const held = this.held.get(sha256);
    if (held) held.tasks++;
    else this.held.set(sha256, { kind, size, tasks: 1 }); // no text: its stored bytes are pinned
    this.touch(sha256);
    return { sha256, size };
  }

  /** Stored bytes only a held reference can be served from: they may not be evicted. */
  private pinned(sha256: string): boolean {
    const held = this.held.get(sha256);
    return held !== undefined && held.text === undefined;
  }

  private holdText(text: string, kind: BundleKind): StoredFile {
    const seen = this.shaOfText.get(text);
    const known = seen === undefined ? undefined : this.held.get(seen);
    if (known) {
      known.tasks++;
      this.touch(seen!);
      return { sha256: seen!, size: known.size };
    }
    const bytes = unpooled(Buffer.from(text, "base64"));
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const held = this.held.get(sha256);
    if (held) {
      held.tasks++;
      held.text ??= text; // restorable from this text now: no longer pinned
    } else this.held.set(sha256, { text, kind, size: bytes.length, tasks: 1 });
    this.remember(text, sha256);
    this.put(sha256, { bytes, kind });
    return { sha256, size: bytes.length };
  }

  private remember(text: string, sha256: string): void {
    if (this.shaOfText.size >= MAX_TEXTS) this.shaOfText.delete(this.shaOfText.keys().next().value!);
    this.shaOfText.set(text, sha256);
  }

  /**
   * Stores `file` (or marks it used), evicting the least recently used unpinned files until it fits;
   * false, and nothing evicted, when it cannot fit (over the cap, or beside the pinned files).
   */
  private put(sha256: string, file: BundleFile): boolean {
    if (this.entries.has(sha256)) {
      this.touch(sha256);
      return true;
    }
    const cost = charge(file.bytes.length);
    if (this.pinnedCharge() + cost > this.maxBytes) return false;
    while (this.charged + cost > this.maxBytes) this.evictOldest();
    this.entries.set(sha256, file);
    this.storedBytes += file.bytes.length;
    this.charged += cost;
    return true;
  }

  /** What the pinned files count against the cap; at most one entry per file tasks hold. */
  private pinnedCharge(): number {
    let sum = 0;
    for (const [sha256, held] of this.held) if (held.text === undefined && this.entries.has(sha256)) sum += charge(held.size);
    return sum;
  }

  private touch(sha256: string): void {
    const entry = this.entries.get(sha256);
    if (!entry) return;
    this.entries.delete(sha256);
    this.entries.set(sha256, entry);
  }

  /** Only called when unpinned files free enough room (`put`). */
  private evictOldest(): void {
    let oldest: [string, BundleFile] | undefined;
    for (const entry of this.entries) {
      if (this.pinned(entry[0])) continue;
      oldest = entry;
      break;
    }
    const [sha256, entry] = oldest!;
    this.entries.delete(sha256);
    this.storedBytes -= entry.bytes.length;
    this.charged -= charge(entry.bytes.length);
  }
}
