/**
 * The plugin's side of the daemon socket: one bounded HTTP request over the unix socket, or nothing when the
 * daemon is not there. Every plugin→daemon exchange (reports, pod lookups, STATUS) goes through here.
 * @module
 */

/**
 * Sends `init` to `path` on the daemon at `socket` and hands the response to `read`. Resolves undefined when
 * the socket does not exist, the daemon refuses or does not answer within `timeoutMs`, or `read` throws.
 */
export async function daemonRequest<T>(
  socket: string,
  path: string,
  init: RequestInit,
  timeoutMs: number,
  read: (res: Response) => Promise<T>,
): Promise<T | undefined> {
  try {
    if (!(await Deno.stat(socket)).isSocket) return undefined;
  } catch {
    return undefined;
  }
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  try {
    const res = await fetch(`http://chainsaw${path}`, {
      ...init,
      client,
      signal: AbortSignal.timeout(timeoutMs),
    } as RequestInit);
    return await read(res);
  } catch {
    return undefined;
  } finally {
    client.close();
  }
}
