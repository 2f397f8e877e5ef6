/**
 * Synchronous work on the hot path of a code page, from the Node built-ins that Deno and
 * Netlify's edge runtime provide: node:crypto (WebCrypto runs every operation on a worker
 * thread, and opening a page plus hashing and signing its meter cookie cost ~0.5 ms of CPU in
 * thread hops alone, bench/edge_bench.py), node:zlib's inflate, node:buffer's UTF-8 check and
 * Latin-1 decoding.
 * Same algorithms, same bytes; where a built-in is missing, callers fall back to web APIs.
 */
type NodeCrypto = typeof import("node:crypto");
type NodeZlib = typeof import("node:zlib");
type NodeBuffer = typeof import("node:buffer");

async function builtin<T>(load: () => Promise<T>): Promise<T | null> {
  try {
    return await load();
  } catch {
    return null;
  }
}

const node: NodeCrypto | null = await builtin(() => import("node:crypto"));
const zlib: NodeZlib | null = await builtin(() => import("node:zlib"));
const buffer: NodeBuffer | null = await builtin(() => import("node:buffer"));

/**
 * The bytes as a string of one character per byte (ISO-8859-1, which TextDecoder cannot do:
 * its "latin1" is windows-1252): node:buffer's decoder, else String.fromCharCode in chunks.
 */
export function latin1(bytes: Uint8Array): string {
  if (buffer) return buffer.Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  return latin1Portable(bytes);
}

/** latin1 without node:buffer (tests compare the two). */
export function latin1Portable(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x2000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x2000));
  }
  return text;
}

/** node:buffer's isUtf8 (validates without making a string), where the runtime has it. */
export const isUtf8: ((bytes: Uint8Array) => boolean) | null = typeof buffer?.isUtf8 === "function"
  ? buffer.isUtf8
  : null;

/** Raw DEFLATE data inflated, or null when it is not valid or inflates to more than `limit` bytes. */
export function inflateRaw(data: Uint8Array, limit: number): Promise<Uint8Array | null> {
  if (!zlib) return inflateRawWeb(data, limit);
  try {
    const out = zlib.inflateRawSync(data, { maxOutputLength: limit });
    return Promise.resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
  } catch {
    return Promise.resolve(null);
  }
}

/** inflateRaw with the web's DecompressionStream (runtimes without node:zlib; tests compare the two). */
export async function inflateRawWeb(data: Uint8Array, limit: number): Promise<Uint8Array | null> {
  try {
    // the data was authenticated before it is inflated: only the build could make it large
    const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("deflate-raw"));
    const out = await new Response(stream).bytes();
    return out.length > limit ? null : out;
  } catch {
    return null;
  }
}

/** AES-256-GCM decryption (ciphertext with its 16-byte tag at the end), or null on any failure. */
export function aesGcmOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  additionalData: Uint8Array,
): Uint8Array | null | undefined {
  if (!node) return undefined;
  try {
    const decipher = node.createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: 16 });
    decipher.setAAD(additionalData);
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const head = decipher.update(sealed.subarray(0, sealed.length - 16));
    const tail = decipher.final();
    if (tail.length === 0) return head;
    const out = new Uint8Array(head.length + tail.length);
    out.set(head);
    out.set(tail, head.length);
    return out;
  } catch {
    return null;
  }
}

export function sha256Sync(data: Uint8Array): Uint8Array | undefined {
  return node ? node.createHash("sha256").update(data).digest() : undefined;
}

export function hmacSha256Sync(key: Uint8Array, data: Uint8Array): Uint8Array | undefined {
  return node ? node.createHmac("sha256", key).update(data).digest() : undefined;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (node) return node.timingSafeEqual(a, b);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
