/** Byte units, for limits written as people say them (`128 * MiB`) and for messages that name them. */
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
