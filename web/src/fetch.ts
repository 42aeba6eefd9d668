// Downloads with failures the caller can tell apart: an unreachable server or an HTTP error is a
// NetworkError carrying the URL and status, a cancelled download an AbortError (fetch's own
// TypeError and DOMException never reach the caller).
import { AbortError, NetworkError } from './errors.js';

/** fetch(url), or a NetworkError / AbortError naming `what` was being downloaded. */
export async function fetchChecked(url: string | URL, what: string, signal?: AbortSignal): Promise<Response> {
  const where = String(url);
  let r: Response;
  try {
    r = await fetch(url, signal ? { signal, credentials: 'same-origin' } : { credentials: 'same-origin' });
  } catch (e) {
    if (signal?.aborted) throw new AbortError(`the download of ${what} was aborted`, { cause: e });
    const detail = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
    throw new NetworkError(
      `could not download ${what} from ${where}: the server could not be reached (${detail}); check the address and that the server is running`,
      { url: where, status: null },
      { cause: e },
    );
  }
  if (!r.ok) {
    const hint =
      r.status === 404
        ? ': there is no file at that address (check the path, or copy the file there; bundlers that do not copy the package\'s assets need loadModel\'s weightsUrl / wasmUrl / workerUrl)'
        : r.status === 401 || r.status === 403
          ? ': the server refused access'
          : '';
    throw new NetworkError(`could not download ${what} from ${where}: HTTP ${r.status}${r.statusText ? ` ${r.statusText}` : ''}${hint}`, {
      url: where,
      status: r.status,
    });
  }
  return r;
}
