/**
 * Where `@bjorn3/browser_wasi_shim` 0.4.2 answers differently from a real WASI host (wasmtime,
 * node:wasi), corrected on its import object before instantiation:
 * - `args_sizes_get` counts UTF-16 units while `args_get` writes UTF-8: a non-ASCII argument
 *   overruns the program's buffer (Go panics in runtime.goenvs);
 * - positional I/O and seeking on stdout/stderr answer ENOTSUP where a pipe answers ESPIPE, and Zig's
 *   writer only falls back to plain writes on ESPIPE.
 * (`poll_oneoff` is replaced whole: wasi-poll.ts.)
 */
import { ConsoleStdout, type WASI } from "@bjorn3/browser_wasi_shim";

const ERRNO_SUCCESS = 0;
const ERRNO_NOTSUP = 58;
const ERRNO_SPIPE = 70;

type Imports = Record<string, (...args: number[]) => unknown>;

export function correctedImports(wasi: WASI): Imports {
  const imports = { ...(wasi.wasiImport as Imports) };
  const encoder = new TextEncoder();
  const memory = () => new DataView(wasi.inst.exports.memory.buffer);
  imports.args_sizes_get = (countAt: number, bytesAt: number) => {
    const view = memory();
    view.setUint32(countAt, wasi.args.length, true);
    view.setUint32(
      bytesAt,
      wasi.args.reduce((bytes, arg) => bytes + encoder.encode(arg).length + 1, 0),
      true,
    );
    return ERRNO_SUCCESS;
  };
  for (const name of ["fd_pwrite", "fd_pread", "fd_seek", "fd_tell"]) {
    const original = imports[name];
    if (!original) continue;
    imports[name] = (fd: number, ...rest: number[]) => {
      const errno = original(fd, ...rest);
      return errno === ERRNO_NOTSUP && wasi.fds[fd] instanceof ConsoleStdout ? ERRNO_SPIPE : errno;
    };
  }
  return imports;
}
