// Proof-of-work for the public query, in a Web Worker: find a counter such that
// SHA-256("<challenge>:<counter>") (UTF-8, counter in decimal) starts with `bits` zero bits.
// Reports {tried} now and then, and {counter} when found.
"use strict";

const BATCH = 256; // digests in flight at once: WebCrypto is asynchronous

const zeroBits = (bytes) => {
  let bits = 0;
  for (const byte of bytes) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
};

self.onmessage = async (event) => {
  const { challenge, bits } = event.data;
  if (!self.crypto || !self.crypto.subtle) {
    self.postMessage({ error: "unsupported" });
    return;
  }
  const encoder = new TextEncoder();
  let counter = 0;
  let reported = 0; // the first batch reports at once, so the line moves from the start
  for (;;) {
    const batch = [];
    for (let i = 0; i < BATCH; i += 1) {
      batch.push(crypto.subtle.digest("SHA-256", encoder.encode(`${challenge}:${counter + i}`)));
    }
    const digests = await Promise.all(batch);
    for (let i = 0; i < BATCH; i += 1) {
      if (zeroBits(new Uint8Array(digests[i])) >= bits) {
        self.postMessage({ counter: String(counter + i) });
        return;
      }
    }
    counter += BATCH;
    if (Date.now() - reported > 200) {
      reported = Date.now();
      self.postMessage({ tried: counter });
    }
  }
};
