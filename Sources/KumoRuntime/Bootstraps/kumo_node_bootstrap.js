// Kumo's Node.js bootstrap: serves `_HANDLER=module.function` over the AWS Lambda Runtime API (2018-06-01).
//
// Contract with Kumo's local runtime:
//   argv    node <dir>/kumo_node_bootstrap.js; the working directory is the function's code directory.
//   env     AWS_LAMBDA_RUNTIME_API=host:port, _HANDLER=module.function, LAMBDA_TASK_ROOT,
//           AWS_LAMBDA_FUNCTION_{NAME,MEMORY_SIZE,VERSION}, AWS_LAMBDA_LOG_{GROUP,STREAM}_NAME, AWS_REGION,
//           AWS_DEFAULT_REGION, PATH, LANG, TZ and the function's own variables.
//   init    The module is resolved against LAMBDA_TASK_ROOT as <module>.js, .mjs or .cjs, trying in turn:
//           everything before the last dot (`src/my.app.handler` -> src/my.app.js), AWS's reading (first dot
//           after the last slash; the rest is a property path: `index.api.get` -> index.js, api.get), and dots
//           as directories (`pkg.mod.handler` -> pkg/mod.js). .mjs, and .js under a package.json with
//           "type": "module", are loaded with import(); the rest with require(). On failure: POST
//           /runtime/init/error (Runtime.ImportModuleError, Runtime.UserCodeSyntaxError,
//           Runtime.HandlerNotFound, or the error's own name) and exit 1.
//   loop    GET /runtime/invocation/next (blocks) -> handler(event, context[, callback]): a returned promise,
//           the callback, or (for handlers declaring fewer than 3 parameters) the returned value ->
//           POST .../{id}/response with the JSON result, or .../{id}/error with {errorMessage, errorType,
//           stackTrace} and the header Lambda-Runtime-Function-Error-Type (Runtime.MarshalError when the
//           result cannot be stringified). An uncaught exception is reported for the current request, then
//           the process exits 1.
//   output  console.log/error go to stdout/stderr unchanged (synchronous writes on Linux pipes).
//   marks   With _KUMO_LOG_MARK=TOKEN (removed from the environment the handler sees), the line "TOKEN start ID"
//           is written to both stdout and stderr when an invocation is received, "TOKEN end ID" once its result
//           is posted: the runtime tags what comes between with the request id and everything else (load time,
//           timers that fire after the handler returned, anything between invocations) with the worker.
//   exit    1 as soon as the Runtime API cannot be reached (the runtime is gone).
// Built-in modules only, loaded with require() when Node runs this file as CommonJS (no ES module loader
// start-up for CommonJS handlers) and with import() if a package.json around it makes it an ES module.
'use strict';

const API = '/2018-06-01/runtime';

main().catch((e) => {
  console.error('kumo bootstrap:', e && e.message ? e.message : e);
  process.exit(1);
});

async function main() {
  const load = typeof require === 'function' ? async (name) => require(name) : (name) => import(name);
  const [http, fs, path, { createRequire }, { pathToFileURL }] = await Promise.all(
    ['node:http', 'node:fs', 'node:path', 'node:module', 'node:url'].map(load));
  const env = process.env;
  const MARK = env._KUMO_LOG_MARK;
  delete env._KUMO_LOG_MARK;
  // Writes "TOKEN start|end ID" to both output streams (see `marks` above).
  function mark(what, requestId) {
    if (!MARK || !requestId) return;
    const line = `${MARK} ${what} ${requestId}\n`;
    for (const fd of [1, 2]) {
      try { fs.writeSync(fd, line); } catch { /* closed by the handler */ }
    }
  }
  const [, host, port] = /^\[?(.*?)\]?:(\d+)$/.exec(env.AWS_LAMBDA_RUNTIME_API || '') || [];
  if (!port) throw new Error('AWS_LAMBDA_RUNTIME_API must be host:port');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  // One HTTP request to the Runtime API; a reused keep-alive socket that was closed meanwhile is retried once.
  function request(method, route, body = '', headers = {}, retried = false) {
    return new Promise((resolve, reject) => {
      const req = http.request({
        host, port, method, agent, path: API + route,
        headers: { ...headers, 'Content-Length': Buffer.byteLength(body) },
      }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      });
      req.on('error', (e) => (req.reusedSocket && !retried
        ? request(method, route, body, headers, true).then(resolve, reject)
        : reject(new Error(`Runtime API unavailable (${method} ${route}): ${e.message}`))));
      req.end(body);
    });
  }

  async function post(route, payload, errorType) {
    const headers = { 'Content-Type': 'application/json' };
    if (errorType) headers['Lambda-Runtime-Function-Error-Type'] = String(errorType).replace(/[\r\n]/g, ' ');
    const res = await request('POST', route, payload, headers);
    if (res.status >= 300) console.error(`kumo bootstrap: POST ${route} answered ${res.status}: ${res.body}`);
  }

  // {errorType, errorMessage, stackTrace} of anything thrown. errorType is the error's name, or its class name
  // when the name was left as 'Error' (class BoomError extends Error {}); the bootstrap's frames are left out.
  const ownFrame = (line) => line.startsWith('    at ') && (line.includes(process.argv[1]) || line.includes('node:internal/'));
  function errorBody(e) {
    if (e instanceof Error) {
      const custom = e.name && e.name !== 'Error' ? e.name : e.constructor && e.constructor.name;
      const stackTrace = String(e.stack || '').split('\n').filter((line) => !ownFrame(line));
      return { errorType: custom || 'Error', errorMessage: e.message, stackTrace };
    }
    let message;
    try { message = typeof e === 'string' ? e : JSON.stringify(e); } catch { message = String(e); }
    return { errorType: typeof e, errorMessage: String(message), stackTrace: [] };
  }

  function runtimeError(errorType, errorMessage, stackTrace = []) {
    return { errorType, errorMessage, stackTrace };
  }

  // Logs an error to stderr as Lambda does (with the request id) and POSTs it to the Runtime API.
  async function report(route, requestId, body) {
    console.error(`${requestId ? `${requestId}\tERROR\tInvoke Error` : 'ERROR\tInit Error'}\t${JSON.stringify(body)}`);
    await post(route, JSON.stringify(body), body.errorType);
    mark('end', requestId);
  }

  // --- init: find and load the handler ---
  const taskRoot = env.LAMBDA_TASK_ROOT || process.cwd();
  const spec = env._HANDLER || '';

  function candidates() {
    const lastDot = spec.lastIndexOf('.');
    const slash = spec.lastIndexOf('/');
    const dir = spec.slice(0, slash + 1);
    const firstDot = spec.indexOf('.', slash + 1);
    const fn = spec.slice(lastDot + 1);
    const out = [[spec.slice(0, lastDot), [fn]]];
    if (firstDot !== lastDot) {
      out.push([spec.slice(0, firstDot), spec.slice(firstDot + 1).split('.')]);
      out.push([dir + spec.slice(slash + 1, lastDot).replace(/\./g, '/'), [fn]]);
    }
    return out;
  }

  function isFile(file) {
    try { return fs.statSync(file).isFile(); } catch { return false; }
  }

  // .mjs is ESM; .js is ESM when the nearest package.json says "type": "module".
  function isESM(file) {
    if (file.endsWith('.mjs')) return true;
    if (!file.endsWith('.js')) return false;
    for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
      const pj = path.join(dir, 'package.json');
      if (isFile(pj)) {
        try { return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module'; } catch { return false; }
      }
      if (path.dirname(dir) === dir) return false;
    }
  }

  async function loadHandler() {
    const lastDot = spec.lastIndexOf('.');
    if (lastDot <= 0 || lastDot === spec.length - 1 || lastDot < spec.lastIndexOf('/')) {
      throw runtimeError('Runtime.MalformedHandlerName', `Bad handler '${spec}': expected module.function`);
    }
    for (const [moduleName, propertyPath] of candidates()) {
      const base = path.resolve(taskRoot, moduleName);
      const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find(isFile);
      if (!file) continue;
      let mod;
      try {
        mod = isESM(file) ? await import(pathToFileURL(file).href) : createRequire(process.argv[1])(file);
      } catch (e) {
        const { stackTrace } = errorBody(e);
        if (e instanceof SyntaxError) throw runtimeError('Runtime.UserCodeSyntaxError', `${e.name}: ${e.message}`, stackTrace);
        if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
          throw runtimeError('Runtime.ImportModuleError', `Error: ${e.message}`, stackTrace);
        }
        throw errorBody(e);
      }
      const handler = propertyPath.reduce((obj, key) => (obj == null ? undefined : obj[key]), mod);
      if (typeof handler === 'function') return handler;
      throw runtimeError('Runtime.HandlerNotFound', handler === undefined
        ? `${spec} is undefined or not exported` : `${spec} is not a function`);
    }
    const name = spec.slice(0, lastDot);
    throw runtimeError('Runtime.ImportModuleError',
      `Error: Cannot find module '${name}' in ${taskRoot} (tried ${name}.js, .mjs, .cjs)`);
  }

  let handler;
  try {
    handler = await loadHandler();
  } catch (body) {
    await report('/init/error', null, body)
      .catch((e) => console.error('kumo bootstrap: could not report the init error:', e.message));
    process.exit(1);
  }

  // --- loop ---
  let current = null; // the request being served, for uncaught exceptions
  const fatal = (e) => {
    if (!current) {
      console.error('ERROR\tUncaught Exception\t', e);
      process.exit(1);
    }
    report(`/invocation/${current}/error`, current, errorBody(e)).finally(() => process.exit(1));
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);

  // Calls the handler; settles with the first of: returned promise, callback, returned value (< 3 params).
  function run(event, context) {
    return new Promise((resolve, reject) => {
      let settled = false;
      const succeed = (result) => { if (!settled) { settled = true; resolve(result); } };
      const fail = (error) => { if (!settled) { settled = true; reject(error); } };
      const callback = (err, result) => (err !== undefined && err !== null ? fail(err) : succeed(result));
      Object.assign(context, { done: callback, succeed, fail });
      try {
        const returned = handler(event, context, callback);
        if (returned && typeof returned.then === 'function') returned.then(succeed, fail);
        else if (handler.length < 3) succeed(returned);
      } catch (e) {
        fail(e);
      }
    });
  }

  for (;;) {
    current = null;
    const next = await request('GET', '/invocation/next');
    if (next.status !== 200) throw new Error(`GET /invocation/next answered ${next.status}: ${next.body}`);
    const h = next.headers;
    const requestId = h['lambda-runtime-aws-request-id'] || '';
    const errorRoute = `/invocation/${requestId}/error`;
    current = requestId;
    mark('start', requestId);
    if (h['lambda-runtime-trace-id']) env._X_AMZN_TRACE_ID = h['lambda-runtime-trace-id'];
    else delete env._X_AMZN_TRACE_ID;
    const deadline = Number(h['lambda-runtime-deadline-ms']) || 0;
    const jsonHeader = (name) => { try { return JSON.parse(h[name]); } catch { return undefined; } };
    const context = {
      awsRequestId: requestId,
      functionName: env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
      identity: jsonHeader('lambda-runtime-cognito-identity'),
      clientContext: jsonHeader('lambda-runtime-client-context'),
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    let event;
    try {
      event = JSON.parse(next.body);
    } catch (e) {
      await report(errorRoute, requestId, runtimeError('Runtime.UnmarshalError', `Unable to parse the event: ${e.message}`));
      continue;
    }
    let result;
    try {
      result = await run(event, context);
    } catch (e) {
      await report(errorRoute, requestId, errorBody(e));
      continue;
    }
    let payload;
    try {
      payload = JSON.stringify(result === undefined ? null : result);
    } catch (e) {
      await report(errorRoute, requestId, runtimeError('Runtime.MarshalError', `Unable to stringify response body: ${e.message}`));
      continue;
    }
    await post(`/invocation/${requestId}/response`, payload === undefined ? 'null' : payload);
    mark('end', requestId);
  }
}
