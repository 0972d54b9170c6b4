export { Client, DRIVER_DEFAULTS, TaskError, type ConnectOptions } from "./client.js";
export { TaskDefinitionError, type TaskDefinition } from "./task-definition.js";
export { ResultTooLargeError } from "./result-body.js";
export { decodeResultBody } from "motivus-protocol";
