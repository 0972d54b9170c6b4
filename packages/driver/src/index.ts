export { Client, ConnectError, DRIVER_DEFAULTS, TaskError, type ConnectOptions, type DriverLogger } from "./client.js";
export { TaskDefinitionError, type TaskDefinition } from "./task-definition.js";
export { ResultTooLargeError } from "./result-body.js";
export { RegistryError } from "./registry.js";
export { decodeResultBody, ErrorCode, MotivusError } from "motivus-protocol";
