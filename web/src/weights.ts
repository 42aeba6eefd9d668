// Reads a weights file's safetensors header on the main thread, for its metadata and so that a
// file that is not safetensors at all fails at once with a clear message. The full check (every
// tensor's byte range and shape against the model configuration, and the SHA-256 of the data
// recorded in the metadata) is the core's, done by the first worker before the model is used.
import { WeightsError } from './errors.js';

export interface WeightsInfo {
  /** File size in bytes. */
  bytes: number;
  /** SHA-256 of the data section as recorded in the metadata (verified by the core), or null. */
  sha256: string | null;
  /** The file's __metadata__ (model name, configuration JSON, training arguments, license). */
  metadata: Record<string, string>;
}

const FIX =
  "use the qm9.safetensors the package ships (loadModel('qm9')), or convert the authors' checkpoint again with the enf-wasm repository's weights/convert_checkpoint.py";

/** What bytes that are not safetensors look like, when they are text: an HTML page, JSON or plain text. */
function sniffText(bytes: Uint8Array): string | null {
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 1024)).replace(/^\uFEFF/, '').trimStart();
  if (!head) return null;
  if (/^<(!doctype\s+html|html|head|body|meta|title|script)\b/i.test(head))
    return "an HTML page, not a safetensors file: the server answered with a web page (a 404 page, or a dev server's index.html fallback for a path that has no file); check the weights URL";
  if (head.startsWith('<')) return 'XML/markup text, not a safetensors file; check the weights URL or path';
  if (head.startsWith('{') || head.startsWith('['))
    return 'JSON text, not a safetensors file (a safetensors file starts with an 8-byte header length); check the weights URL or path';
  let printable = 0;
  for (const c of head) if (c >= ' ' || c === '\n' || c === '\r' || c === '\t') printable++;
  if (printable / head.length > 0.95) return 'plain text, not a safetensors file; check the weights URL or path';
  return null;
}

/** The parsed safetensors header and where the data section starts and (by the header) ends. */
export interface SafetensorsHeader {
  header: Record<string, unknown>;
  dataStart: number;
  dataEnd: number;
}

/** Parses a safetensors header (the one place in the package that does); WeightsError saying what is wrong. */
export function parseSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length >= 8 ? view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32 : 0;
  if (bytes.length < 16 || n < 2 || 8 + n > bytes.length) {
    // Text where binary was expected is the usual case (an error page): say what it is.
    const text = sniffText(bytes);
    if (text) throw new WeightsError(`the weights file (${bytes.length} bytes) is ${text}`);
  }
  if (bytes.length < 16)
    throw new WeightsError(`the weights file is ${bytes.length} bytes, too short to be a safetensors file; ${FIX}`);
  if (n < 2 || 8 + n > bytes.length)
    throw new WeightsError(
      `the weights file's header claims ${n} bytes but the file has ${bytes.length}: it is truncated or not a safetensors file; ${FIX}`,
    );
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new WeightsError(`the weights file's header is not valid JSON: the file is corrupt; ${FIX}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new WeightsError(`the weights file's header is not a JSON object: the file is corrupt; ${FIX}`);
  let dataEnd = 0;
  for (const [name, t] of Object.entries(header as Record<string, { data_offsets?: unknown[] }>))
    if (name !== '__metadata__' && Array.isArray(t?.data_offsets)) dataEnd = Math.max(dataEnd, Number(t.data_offsets[1]));
  return { header: header as Record<string, unknown>, dataStart: 8 + n, dataEnd };
}

/**
 * The whole file's size as a safetensors prefix declares it (8 + header length + end of the last
 * tensor), or 0 while the prefix is too short to tell or is not safetensors. Download progress
 * uses it when the server sends no Content-Length (compressed or chunked responses).
 */
export function declaredSafetensorsSize(prefix: Uint8Array): number {
  try {
    const { dataStart, dataEnd } = parseSafetensorsHeader(prefix);
    return dataEnd > 0 ? dataStart + dataEnd : 0;
  } catch {
    return 0; // the header has not arrived yet, or this is not safetensors
  }
}

export function readWeightsHeader(bytes: Uint8Array): WeightsInfo {
  const { header } = parseSafetensorsHeader(bytes);
  const metadata: Record<string, string> = {};
  const meta = header.__metadata__;
  if (meta && typeof meta === 'object')
    for (const [k, v] of Object.entries(meta as Record<string, unknown>)) metadata[k] = String(v);
  if (metadata.model === 'particle_enf')
    throw new WeightsError('these weights are a particle flow (load it with loadParticleFlow), not a molecule E-NF');
  if (metadata.model !== undefined && metadata.model !== 'qm9')
    throw new WeightsError(`these weights are for model '${metadata.model}', not a molecule E-NF; load a QM9 weights file`);
  return { bytes: bytes.length, sha256: metadata.sha256 ?? null, metadata };
}
