import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Keeps `ao-app install` near Node's own footprint while it streams hundreds
 * of MB (254 MB bench: peak RSS ~110 MB before, ~70 MB after).
 * What it costs, measured with VmHWM:
 * - undici parses HTTP with llhttp compiled to WebAssembly; the first response
 *   makes V8 tier it up with TurboFan, a ~30 MB transient spike. Liftoff (the
 *   baseline wasm compiler) is fast enough here: bodies are sized, so llhttp
 *   only skips over them.
 * - every socket or file read hands out a fresh 64-128 KiB buffer; V8 sees
 *   only their tiny JS wrappers, so it collects rarely and ~35 MB of dead
 *   buffers (and the malloc arenas holding them) pile up between collections.
 *   A minor GC (a scavenge, well under 1 ms) every 1 MiB streamed bounds that;
 *   measured CPU time of a 254 MB install is unchanged.
 * - V8 still grows the young generation's semi-spaces under that churn (heapTotal
 *   18 -> 49 MB with 14 MB in use, unpacking the Electron-like bench zip).
 *   A growth factor of 1 keeps them at their starting size: peak RSS of that
 *   unpack 88 -> 78 MB. (--max-semi-space-size is read only at start-up; the
 *   growth factor is read each time V8 would grow.)
 * - TurboFan optimising the JS that runs hot (undici, streams, the unpacker)
 *   cost 7-9 MB of peak RSS (its compile zones): without it (Sparkplug, and
 *   Maglev on Node 22) the bench's Electron-like install peaked at 66.9 MB
 *   instead of 75.6 MB, and took no longer (2.77 s against 2.90 s).
 * `tuneForStreaming()` is for the command's process only (it changes V8 flags
 * for the whole process); must run before undici is loaded. Library callers
 * that do not call it get `streamed()` as a no-op.
 */
const GC_EVERY_BYTES = 1 << 20;

/**
 * Buffer memory a minor GC leaves behind above which a full one runs. A chunk that waits through two
 * scavenges (while the other lane or the small entries stream) is promoted, and only a full
 * collection frees its bytes; V8 waits for 64 MB more of them. On the Electron-like bench zip about
 * one run in ten peaked at 73-81 MB of RSS instead of 66-69 MB that way. After a full collection the
 * next waits for FULL_GC_SPACING more bytes, so live buffers above the mark cost a few, not one per MiB.
 */
const BUFFERS_KEPT = 12 << 20;
const FULL_GC_SPACING = 8 << 20;
let sinceFull = FULL_GC_SPACING;

let collect: (() => void) | undefined;
let collectAll: (() => void) | undefined;
let sinceCollect = 0;

export function tuneForStreaming(): void {
  try {
    setFlagsFromString('--liftoff-only');
    setFlagsFromString('--no-turbofan');
    setFlagsFromString('--semi-space-growth-factor=1');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
    collect = () => gc({ type: 'minor' });
    collectAll = () => gc();
  } catch {
    // A V8 without these flags: correct, only larger.
    collect = undefined;
    collectAll = undefined;
  }
}

/**
 * A full collection between phases (a zip's entry list parsed and checked, before the unpack; the
 * unpack done, before the marker), so the next phase's objects reuse the heap the last one's garbage
 * held instead of growing it: V8 rarely runs one on its own in a heap this small.
 */
export function settle(): void {
  collectAll?.();
}

/** Called with the size of every chunk streamed through the process. */
export function streamed(bytes: number): void {
  if (!collect) return;
  sinceCollect += bytes;
  sinceFull += bytes;
  if (sinceCollect < GC_EVERY_BYTES) return;
  sinceCollect = 0;
  collect();
  // memoryUsage() counts freed buffers at once (V8's own external figure lags a collection behind).
  if (sinceFull < FULL_GC_SPACING || process.memoryUsage().arrayBuffers <= BUFFERS_KEPT) return;
  sinceFull = 0;
  collectAll!();
}
