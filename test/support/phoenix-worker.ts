/**
 * A simulated worker for the loopback tests, built on the official `phoenix`
 * client (serializer V2): joins `room:worker:<uuid>:<id>`, offers slots, and
 * answers each `input` with what `handle` returns. Not the browser worker:
 * it stands in for one to test the cluster.
 */
import { Socket, type Channel } from "phoenix";
import WebSocket from "ws";
import { encodeResultBody, toBase64 } from "motivus-protocol";
import { SocketPath, Topic, WorkerEvent, type Input, type ResultContent } from "motivus-protocol";
import { uuidOf } from "./users.js";

/** Returns the result body's JSON; an `error` entry is also sent as stderr. */
export type Handler = (input: Input) => ResultContent | Promise<ResultContent>;

export interface WorkerOptions {
  origin: string; // http://127.0.0.1:port
  slots?: number;
  handle: Handler;
  token?: string;
}

export class PhoenixWorker {
  readonly inputs: Input[] = [];
  readonly aborts: string[] = [];
  private channel!: Channel;
  private socket!: Socket;
  /** When false, inputs are held (not answered) until `release()`. */
  answering = true;
  private held: Input[] = [];

  private constructor(private readonly options: WorkerOptions) {}

  static async start(options: WorkerOptions): Promise<PhoenixWorker> {
    const worker = new PhoenixWorker(options);
    await worker.connect();
    return worker;
  }

  private async connect(): Promise<void> {
    const { origin, token = "worker-token" } = this.options;
    const uuid = await uuidOf(origin, token);
    this.socket = new Socket(`${origin.replace(/^http/, "ws")}${SocketPath.worker.replace(/\/websocket$/, "")}`, {
      transport: WebSocket as never,
      params: { token },
      heartbeatIntervalMs: 5000,
      reconnectAfterMs: () => 60_000,
    });
    this.socket.connect();
    this.channel = this.socket.channel(Topic.worker(uuid, crypto.randomUUID()), {});
    this.channel.on(WorkerEvent.input, (input: Input) => void this.run(input));
    this.channel.on(WorkerEvent.abortTask, ({ tid }: { tid: string }) => void this.aborts.push(tid));
    await new Promise<void>((ok, fail) =>
      this.channel
        .join()
        .receive("ok", () => ok())
        .receive("error", fail),
    );
    for (let i = 0; i < (this.options.slots ?? 1); i++) this.offer();
  }

  offer(): void {
    this.channel.push(WorkerEvent.inputRequest, { tid: crypto.randomUUID() });
  }

  private async run(input: Input): Promise<void> {
    this.inputs.push(input);
    if (!this.answering) return void this.held.push(input);
    await this.answer(input);
  }

  /** Sends the answer to `input` and offers again; resolves with whether the cluster delivered it. */
  async answer(input: Input): Promise<boolean> {
    const content = await this.options.handle(input);
    const text = (s: string) => toBase64(new TextEncoder().encode(s));
    const reply = new Promise<boolean>((ok) => {
      this.channel
        .push(WorkerEvent.result, {
          tid: input.tid,
          type: "response",
          body: encodeResultBody(content),
          stdout: text(`ran ${input.tid}\n`),
          stderr: typeof content.error === "string" ? text(content.error) : null,
        })
        .receive("ok", (response: { delivered?: boolean }) => ok(response?.delivered === true))
        .receive("error", () => ok(false))
        .receive("timeout", () => ok(false));
    });
    this.offer();
    return reply;
  }

  /** Answers the held inputs; resolves with whether each answer was delivered. */
  async release(): Promise<boolean[]> {
    const held = this.held.splice(0);
    const delivered: boolean[] = [];
    for (const input of held) delivered.push(await this.answer(input));
    return delivered;
  }

  /** Drop the socket at once, like a closed tab. */
  kill(): void {
    this.socket.disconnect();
  }

  /** Cut the connection without a closing handshake, like a machine that vanished; no reconnect. */
  drop(): void {
    const ws = (this.socket as unknown as { conn: WebSocket | null }).conn; // phoenix's transport: a `ws` socket
    ws?.terminate();
    this.socket.disconnect(); // stops phoenix's reconnect; the socket is closing already, so no close frame goes out
  }
}
