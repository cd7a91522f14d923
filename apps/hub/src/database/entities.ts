/** Every entity of the hub, listed once so the data source and migrations agree. */
export const ENTITIES: Function[] = [];
