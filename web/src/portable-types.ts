// Types that the package's declarations use, written without the DOM lib: WebAssembly and
// Transferable are DOM-lib globals, so naming them in a .d.ts would break a Node consumer that
// compiles with lib: ["ES2022"] and @types/node (skipLibCheck off).

/** A compiled WebAssembly.Module, passed to workers as it is (opaque outside the package). */
export type CompiledWasm = object;

/** What crosses to a worker by transfer: the package only transfers the buffers of its typed arrays. */
export type Transfer = ArrayBufferLike;
