/**
 * Synchronous crypto for the hot path of a code page (node:crypto, which Deno and Netlify's
 * edge runtime provide): WebCrypto runs every operation on a worker thread, and opening the
 * 6-7 sealed sections of a page plus hashing and signing its meter cookie cost ~0.5 ms of CPU
 * in thread hops alone (bench/edge_bench.py). Same algorithms, same bytes; when node:crypto is
 * not there, callers fall back to WebCrypto.
 */
type NodeCrypto = typeof import("node:crypto");

let node: NodeCrypto | null = null;
try {
  node = await import("node:crypto");
} catch {
  node = null;
}

export function hasFastCrypto(): boolean {
  return node !== null;
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
