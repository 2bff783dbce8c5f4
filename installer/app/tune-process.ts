// Imported first by the ao-app command, so V8 is tuned before undici compiles its wasm parser.
import { tuneForStreaming } from '../../common/streaming-memory.js';

tuneForStreaming();
