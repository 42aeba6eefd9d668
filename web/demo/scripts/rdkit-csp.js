// RDKit's WebAssembly build (@rdkit/rdkit) without run-time code generation, so that it runs
// under the demo's Content-Security-Policy (script-src without 'unsafe-eval').
//
// Its Emscripten bindings (embind) build each C++ call's JavaScript wrapper as source text and
// compile it with `new Function` (two places: createJsInvoker, and __emval_create_invoker for
// calls from C++ into JavaScript values). `patchRDKit` swaps both for closures that do the same
// steps in the same order: convert the arguments to wire values (keeping the destructor list or
// the stack frame the generated code keeps), call the C++ invoker, run the destructors, and
// convert the result. The Vite plugin applies it when the demo is built (and to the dev server's
// dependency pre-bundling). If a new RDKit release changes those two spots, the build fails here
// with a message, instead of a page that fails under its CSP.

const INVOKER_FROM = 'return new Function(args1,invokerFnBody)}function craftInvokerFunction(';
const INVOKER_TO =
  'return __enfCspInvoker(argTypes,isClassMethodFunc,returns,isAsync,needsDestructorStack,useStackFrame)}function craftInvokerFunction(';
const EMVAL_FROM = 'var invokerFunction=new Function(Object.keys(captures),functionBody)(...Object.values(captures));';
const EMVAL_TO =
  'var invokerFunction=__enfCspEmvalInvoker(kind,retType,toReturnWire,argFromPtr,GenericWireTypeSize,Emval.toValue,getStringOrSymbol,emval_returnValue);';

// Prepended to the module: plain functions, hoisted into its scope.
const RUNTIME = `
function __enfCspInvoker(argTypes, isClassMethodFunc, returns, isAsync, needsDestructorStack, useStackFrame) {
  var argCount = argTypes.length - 2;
  var dtorIndex = [];
  if (!needsDestructorStack)
    for (var i = isClassMethodFunc ? 1 : 2; i < argTypes.length; ++i) if (argTypes[i].destructorFunction !== null) dtorIndex.push(i);
  // The factory takes what the generated code took, in the same order (craftInvokerFunction's closureArgs).
  return function (humanName, throwBindingError, invoker, fn, runDestructors, fromRetWire, toClassParamWire) {
    var rest = Array.prototype.slice.call(arguments, 7);
    var k = 0;
    var stackSave = useStackFrame ? rest[k++] : null;
    var stackRestore = useStackFrame ? rest[k++] : null;
    var toArgWire = rest.slice(k, k + argCount);
    var dtors = rest.slice(k + argCount, k + argCount + dtorIndex.length);
    return function () {
      var self = this;
      var args = arguments;
      var destructors = needsDestructorStack ? [] : null;
      var thisWired;
      var wired = new Array(argCount);
      var call = function () {
        var list = [fn];
        if (isClassMethodFunc) list.push((thisWired = toClassParamWire(destructors, self)));
        for (var a = 0; a < argCount; ++a) list.push((wired[a] = toArgWire[a](destructors, args[a])));
        return invoker.apply(null, list);
      };
      var rv;
      if (useStackFrame) {
        var sp = stackSave();
        try { rv = call(); } finally { stackRestore(sp); }
      } else rv = call();
      if (needsDestructorStack) runDestructors(destructors);
      else for (var d = 0; d < dtorIndex.length; ++d) dtors[d](dtorIndex[d] === 1 ? thisWired : wired[dtorIndex[d] - 2]);
      if (returns) return fromRetWire(rv);
    };
  };
}
function __enfCspEmvalInvoker(kind, retType, toReturnWire, argFromPtr, size, toValue, getStringOrSymbol, emval_returnValue) {
  return function (handle, methodName, destructorsRef, args) {
    var a = argFromPtr.map(function (read, i) { return read(args + i * size); });
    var r;
    if (kind === 0) r = toValue(handle).apply(undefined, a);
    else if (kind === 2) r = Reflect.construct(toValue(handle), a);
    else if (kind === 3) r = a[a.length - 1];
    else { var obj = toValue(handle); r = obj[getStringOrSymbol(methodName)].apply(obj, a); }
    if (!retType.isVoid) return emval_returnValue(toReturnWire, destructorsRef, r);
  };
}
`;

/** RDKit_minimal.js without `new Function`; throws when the release's bindings differ from the expected ones. */
export function patchRDKit(code) {
  if (!code.includes(INVOKER_FROM) || !code.includes(EMVAL_FROM))
    throw new Error(
      'rdkit-csp: this @rdkit/rdkit release builds its bindings differently than expected; update web/demo/scripts/rdkit-csp.js',
    );
  const out = code.replace(INVOKER_FROM, INVOKER_TO).replace(EMVAL_FROM, EMVAL_TO);
  if (/new Function\b|\beval\(/.test(out)) throw new Error('rdkit-csp: RDKit_minimal.js still generates code at run time');
  return RUNTIME + out;
}

const FILE = /[\\/]@rdkit[\\/]rdkit[\\/]dist[\\/]RDKit_minimal\.js$/;

/** Vite plugin: patches RDKit_minimal.js in builds and in the dev server's pre-bundling. */
export function rdkitCsp() {
  return {
    name: 'enf-rdkit-csp',
    enforce: 'pre',
    transform(code, id) {
      // The file itself, not the proxies the CommonJS plugin makes of it (ids with a query).
      if (!id.includes('?') && FILE.test(id)) return { code: patchRDKit(code), map: null };
      return null;
    },
    config() {
      return {
        optimizeDeps: {
          esbuildOptions: {
            plugins: [
              {
                name: 'enf-rdkit-csp',
                setup(build) {
                  build.onLoad({ filter: /RDKit_minimal\.js$/ }, async (args) => {
                    const { readFile } = await import('node:fs/promises');
                    return { contents: patchRDKit(await readFile(args.path, 'utf8')), loader: 'js' };
                  });
                },
              },
            ],
          },
        },
      };
    },
  };
}
