export { LoopbackServer, startLoopback, type LoopbackOptions, type LoopbackStats } from "./server.js";
export { DEFAULT_LIMITS, type Limits } from "./limits.js";
