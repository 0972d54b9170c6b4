export { LoopbackServer, startLoopback, type LoopbackOptions, type LoopbackStats } from "./server.js";
