export * from './wire/decode-error.js';
export * from './wire/tcp-types.js';
export * from './tcp/config.js';
export * from './stack/host-types.js';
