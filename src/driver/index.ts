export { Client, TaskError, type ConnectOptions } from "./client.js";
export { TaskDefinitionError, type TaskDefinition } from "./task-definition.js";
export { decodeResultBody } from "../protocol/body.js";
