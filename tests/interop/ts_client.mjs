// The official MCP TypeScript SDK's client, driving the server for tests/interop/test_typescript_client.py.
//
//   node ts_client.mjs '<scenario JSON>'      (or the scenario on stdin when no argument is given)
//
// A scenario: {"transport": "stdio", "command": "...", "args": [...], "cwd": "...", "env": {...}} (or
//             "inheritEnv": true: the server gets this process's environment)
//          or {"transport": "http", "url": "http://127.0.0.1:PORT/mcp"},
// optionally "elicitation": {"action": "accept", "content": {...}} (the client then declares form elicitation
// and answers every elicitation/create with it; {"throw": "..."} makes the handler throw that instead, which the
// SDK sends as an error), and "steps", run in order:
//   {"op": "listTools"} (its outcome also lists the tool schemas ajv's strict mode refuses)
//   {"op": "callTool", "name": ..., "arguments": {...}, "progress": true, "abortAfterProgress": N, "timeoutMs": N}
//   {"op": "listResourceTemplates"} | {"op": "readResource", "uri": ...}
//   {"op": "listPrompts"} | {"op": "getPrompt", "name": ..., "arguments": {...}} | {"op": "sleep", "ms": N}
// An argument written {"$from": [stepIndex, "path", "to", "value"]} is taken from an earlier step's result.
//
// Prints one JSON object on stdout: the negotiated protocol version, the server's info and capabilities, the
// session id (HTTP), every step's outcome (result or error, progress notifications, elicitation requests) and
// a summary of the JSON-RPC traffic. Exits 0 whenever it could print that, 1 when connecting failed.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import Ajv from "ajv";
import { readFileSync } from "node:fs";

const scenario = JSON.parse(process.argv[2] ?? readFileSync(0, "utf8"));
const started = performance.now();
const elapsed = () => Math.round(performance.now() - started);

// Wraps the SDK's transport to record what crosses the wire (methods and ids only) and the negotiated version.
class Tap {
  constructor(inner) {
    this.inner = inner;
    this.traffic = [];
    this.protocolVersion = undefined;
    this._onmessage = undefined;
  }
  record(direction, message) {
    const entry = { direction, at: elapsed() };
    if (message.method) entry.method = message.method;
    if (message.id !== undefined) entry.id = message.id;
    if (message.error) entry.error = message.error.code;
    if (message.method === "notifications/cancelled") entry.requestId = message.params?.requestId;
    this.traffic.push(entry);
    if (message.result?.protocolVersion && message.result?.serverInfo) {
      this.protocolVersion = message.result.protocolVersion;
    }
  }
  async start() {
    return this.inner.start();
  }
  async send(message, options) {
    this.record("out", message);
    return this.inner.send(message, options);
  }
  async close() {
    return this.inner.close();
  }
  get sessionId() {
    return this.inner.sessionId;
  }
  setProtocolVersion(version) {
    this.inner.setProtocolVersion?.(version);
  }
  get onmessage() {
    return this._onmessage;
  }
  set onmessage(handler) {
    this._onmessage = handler;
    this.inner.onmessage = (message, extra) => {
      this.record("in", message);
      handler?.(message, extra);
    };
  }
  get onclose() {
    return this.inner.onclose;
  }
  set onclose(handler) {
    this.inner.onclose = handler;
  }
  get onerror() {
    return this.inner.onerror;
  }
  set onerror(handler) {
    this.inner.onerror = handler;
  }
}

function transportFor(scenario) {
  if (scenario.transport === "stdio") {
    return new StdioClientTransport({
      command: scenario.command,
      args: scenario.args ?? [],
      env: scenario.inheritEnv ? { ...process.env } : scenario.env,
      cwd: scenario.cwd,
      stderr: "pipe", // kept out of our stdout; collected below for the report
    });
  }
  if (scenario.transport === "http") {
    return new StreamableHTTPClientTransport(new URL(scenario.url));
  }
  throw new Error(`unknown transport ${scenario.transport}`);
}

function resolve(value, results) {
  if (Array.isArray(value)) return value.map((item) => resolve(item, results));
  if (value && typeof value === "object") {
    if (Array.isArray(value.$from)) {
      const [step, ...path] = value.$from;
      return path.reduce((found, key) => found?.[key], results[step]?.result);
    }
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolve(item, results)]));
  }
  return value;
}

// The tools' schemas ajv refuses in strict mode (e.g. a maxLength without type "string", an unknown keyword), and why.
function refusedByStrictAjv(tools) {
  const refused = [];
  for (const tool of tools) {
    for (const part of ["inputSchema", "outputSchema"].filter((name) => tool[name])) {
      try {
        new Ajv({ strict: true, logger: false }).compile(tool[part]);
      } catch (error) {
        refused.push(`${tool.name} ${part}: ${error.message}`);
      }
    }
  }
  return refused;
}

function describeError(error) {
  return { name: error?.name, code: error?.code, message: String(error?.message ?? error) };
}

async function runStep(client, step, results, elicitations) {
  const outcome = { op: step.op, startedAt: elapsed() };
  const asked = elicitations.length;
  try {
    switch (step.op) {
      case "listTools":
        outcome.result = await client.listTools();
        outcome.refusedByStrictAjv = refusedByStrictAjv(outcome.result.tools);
        break;
      case "callTool": {
        const controller = new AbortController();
        const progress = [];
        const options = { signal: controller.signal, timeout: step.timeoutMs ?? 60000 };
        if (step.progress || step.abortAfterProgress) {
          options.onprogress = (notification) => {
            progress.push({ ...notification, at: elapsed() });
            if (step.abortAfterProgress && progress.length === step.abortAfterProgress) {
              outcome.abortedAt = elapsed();
              controller.abort("the person pressed stop");
            }
          };
        }
        outcome.progress = progress;
        const params = { name: step.name, arguments: resolve(step.arguments ?? {}, results) };
        outcome.result = await client.callTool(params, undefined, options);
        break;
      }
      case "listResourceTemplates":
        outcome.result = await client.listResourceTemplates();
        break;
      case "readResource":
        outcome.result = await client.readResource({ uri: step.uri });
        break;
      case "listPrompts":
        outcome.result = await client.listPrompts();
        break;
      case "getPrompt":
        outcome.result = await client.getPrompt({ name: step.name, arguments: step.arguments ?? {} });
        break;
      case "sleep":
        await new Promise((done) => setTimeout(done, step.ms));
        break;
      default:
        throw new Error(`unknown step ${step.op}`);
    }
  } catch (error) {
    outcome.error = describeError(error);
  }
  outcome.elicitations = elicitations.slice(asked);
  outcome.endedAt = elapsed();
  return outcome;
}

async function main() {
  const capabilities = scenario.elicitation ? { elicitation: { form: {} } } : {};
  const client = new Client({ name: "interop-ts-client", version: "1.0.0" }, { capabilities });
  const elicitations = [];
  if (scenario.elicitation) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      elicitations.push({ message: request.params.message, requestedSchema: request.params.requestedSchema });
      if (scenario.elicitation.throw) throw new Error(scenario.elicitation.throw);
      return scenario.elicitation;
    });
  }
  const errors = [];
  client.onerror = (error) => errors.push(describeError(error));
  const tap = new Tap(transportFor(scenario));
  const stderr = [];
  tap.inner.stderr?.on("data", (chunk) => stderr.push(chunk.toString()));
  const report = { sdkVersion: sdkVersion(), steps: [], errors };
  try {
    await client.connect(tap);
  } catch (error) {
    report.connectError = describeError(error);
    report.stderr = stderr.join("").slice(-4000);
    process.stdout.write(JSON.stringify(report) + "\n");
    process.exitCode = 1;
    return;
  }
  report.protocolVersion = tap.protocolVersion;
  report.serverInfo = client.getServerVersion();
  report.serverCapabilities = client.getServerCapabilities();
  report.sessionId = tap.sessionId ?? null;
  for (const step of scenario.steps ?? []) {
    report.steps.push(await runStep(client, step, report.steps, elicitations));
  }
  report.traffic = tap.traffic;
  await client.close();
  report.stderr = stderr.join("").slice(-4000);
  process.stdout.write(JSON.stringify(report) + "\n");
}

function sdkVersion() {
  const url = new URL("./node_modules/@modelcontextprotocol/sdk/package.json", import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")).version;
}

await main();
