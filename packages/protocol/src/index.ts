/**
 * motivus-protocol: the Motivus Waterbear wire protocol, once, for every side of it. Cluster topics,
 * event names and one schema per payload (`cluster`), the Phoenix frame codec in both serializer
 * versions (`frame`), the result-body encoding (`body`), error codes (`errors`) and the words of a
 * payload's problems (`issues`). The browser worker, the loopback cluster and the driver import it.
 */
export * from "./cluster.js";
export * from "./body.js";
export * from "./errors.js";
export * from "./issues.js";
export * from "./frame.js";
export * from "./units.js";
export * from "./attachments.js";
