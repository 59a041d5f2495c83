// The minimal MCP Apps host that runs in the browser page (bundled by host.mjs with esbuild): the official
// TypeScript client connects to the server over streamable HTTP, declaring the Apps extension; the tool's
// `_meta.ui.resourceUri` is read with resources/read; the HTML is mounted in a sandboxed iframe (scripts only,
// so an opaque origin, with a restrictive Content-Security-Policy); the official AppBridge speaks to it over
// postMessage and forwards what the app asks of the server through the client. `window.testHost` is what the
// driver calls.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import {
  AppBridge,
  PostMessageTransport,
  RESOURCE_MIME_TYPE,
  getToolUiResourceUri,
  isToolVisibilityModelOnly,
} from "@modelcontextprotocol/ext-apps/app-bridge";
import { EXTENSION_ID } from "@modelcontextprotocol/ext-apps/server";

const HOST_INFO = { name: "github-packages-mcp-test-host", version: "1.0.0" };
// Scripts and forms, not allow-same-origin: the app's origin is opaque, so it reaches neither the host page nor
// the MCP server's origin the page is served from (a real host puts its sandbox on another origin).
const SANDBOX = "allow-scripts allow-forms";

/** A subset of the standard variables (McpUiStyleVariableKey) per theme: what a real host would send. */
const PALETTES = {
  light: {
    "--color-background-primary": "rgb(255, 255, 255)",
    "--color-background-secondary": "rgb(245, 245, 244)",
    "--color-background-danger": "rgb(254, 226, 226)",
    "--color-text-primary": "rgb(28, 25, 23)",
    "--color-text-secondary": "rgb(87, 83, 78)",
    "--color-text-danger": "rgb(185, 28, 28)",
    "--color-border-primary": "rgb(214, 211, 209)",
  },
  dark: {
    "--color-background-primary": "rgb(28, 25, 23)",
    "--color-background-secondary": "rgb(41, 37, 36)",
    "--color-background-danger": "rgb(69, 10, 10)",
    "--color-text-primary": "rgb(245, 245, 244)",
    "--color-text-secondary": "rgb(168, 162, 158)",
    "--color-text-danger": "rgb(252, 165, 165)",
    "--color-border-primary": "rgb(68, 64, 60)",
  },
};
const SHARED_STYLES = {
  "--font-sans": "system-ui, sans-serif",
  "--font-mono": "ui-monospace, monospace",
  "--font-text-sm-size": "13px",
  "--font-text-md-size": "15px",
  "--border-radius-md": "6px",
};

/** @param {"light" | "dark"} theme */
function hostContext(theme, tool) {
  return {
    theme,
    styles: { variables: { ...SHARED_STYLES, ...PALETTES[theme] } },
    displayMode: "inline",
    availableDisplayModes: ["inline"],
    containerDimensions: { width: 800, maxHeight: 4000 },
    locale: "en-US",
    timeZone: "UTC",
    platform: "web",
    toolInfo: { tool },
  };
}

/** The policy a host applies to a resource: nothing loads or connects beyond what its `_meta.ui.csp` declares. */
function contentSecurityPolicy(csp = {}) {
  const resources = (csp.resourceDomains ?? []).join(" ");
  const connect = (csp.connectDomains ?? []).join(" ") || "'none'";
  return [
    "default-src 'none'",
    `script-src 'unsafe-inline' ${resources}`,
    `style-src 'unsafe-inline' ${resources}`,
    `img-src data: blob: ${resources}`,
    `font-src data: ${resources}`,
    `connect-src ${connect}`,
    "frame-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
  ].join("; ");
}

function withPolicy(html, csp) {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(csp)}">`;
  const head = /<head[^>]*>/i.exec(html);
  return head ? html.replace(head[0], `${head[0]}${meta}`) : meta + html;
}

/**
 * What the bridge sees as its client: the real one, with every request it forwards for the app recorded, and the
 * app's calls of tools whose `_meta.ui.visibility` is ["model"] refused, as the Apps specification has hosts do.
 */
function recordingClient(client, tools, appRequests) {
  return {
    getServerCapabilities: () => client.getServerCapabilities(),
    setNotificationHandler: (...args) => client.setNotificationHandler(...args),
    async request(request, options) {
      const entry = { method: request.method, params: request.params };
      appRequests.push(entry);
      try {
        const tool = request.method === "tools/call" ? tools.get(request.params?.name) : undefined;
        if (tool && isToolVisibilityModelOnly(tool)) {
          throw new Error(`the host refuses the app's call of ${tool.name}: its visibility is model only`);
        }
        entry.result = await client.request(request, options);
        return entry.result;
      } catch (error) {
        entry.error = String(error?.message ?? error);
        throw error;
      }
    },
  };
}

async function listTools(client) {
  const tools = new Map();
  let cursor;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    for (const tool of page.tools) tools.set(tool.name, tool);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

async function connect(url) {
  const client = new Client(HOST_INFO, {
    capabilities: { extensions: { [EXTENSION_ID]: { mimeTypes: [RESOURCE_MIME_TYPE] } } },
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

async function appResource(client, tool) {
  const uri = getToolUiResourceUri(tool);
  if (!uri) throw new Error(`the tool ${tool.name} has no _meta.ui.resourceUri`);
  const { contents } = await client.readResource({ uri });
  const content = contents.find((item) => item.uri === uri) ?? contents[0];
  if (content?.mimeType !== RESOURCE_MIME_TYPE) {
    throw new Error(`${uri} is served as ${content?.mimeType}, not ${RESOURCE_MIME_TYPE}`);
  }
  return { uri, html: content.text ?? atob(content.blob), meta: content._meta ?? null };
}

function bridgeFor(client, tools, iframe, context, appRequests) {
  const capabilities = client.getServerCapabilities();
  const bridge = new AppBridge(
    recordingClient(client, tools, appRequests),
    HOST_INFO,
    {
      openLinks: {},
      logging: {},
      message: { text: {} },
      updateModelContext: { text: {}, structuredContent: {} },
      serverTools: capabilities.tools,
      serverResources: capabilities.resources,
    },
    { hostContext: context },
  );
  bridge.onsizechange = ({ height }) => {
    if (height !== undefined) iframe.style.height = `${height}px`;
  };
  bridge.onopenlink = async ({ url }) => {
    appRequests.push({ method: "ui/open-link", params: { url } });
    return {};
  };
  bridge.onmessage = async (params) => {
    appRequests.push({ method: "ui/message", params });
    return {};
  };
  bridge.onupdatemodelcontext = async (params) => {
    appRequests.push({ method: "ui/update-model-context", params });
    return {};
  };
  return bridge;
}

/**
 * Connect, read the tool's app, mount it, call the tool and deliver its input and result, as a host does.
 * @param {{url: string, tool: string, arguments: object, theme: "light" | "dark"}} options
 */
async function mount({ url, tool: name, arguments: args, theme }) {
  const client = await connect(url);
  const tools = await listTools(client);
  const tool = tools.get(name);
  if (!tool) throw new Error(`the server has no tool ${name}`);
  const resource = await appResource(client, tool);
  const iframe = document.createElement("iframe");
  iframe.id = "app";
  iframe.title = tool.title ?? tool.name;
  iframe.setAttribute("sandbox", SANDBOX);
  iframe.srcdoc = withPolicy(resource.html, resource.meta?.ui?.csp);
  const appRequests = [];
  const context = hostContext(theme, tool);
  const bridge = bridgeFor(client, tools, iframe, context, appRequests);
  const initialized = new Promise((resolve) => bridge.addEventListener("initialized", resolve));
  document.body.append(iframe);
  await bridge.connect(new PostMessageTransport(iframe.contentWindow, iframe.contentWindow));
  await initialized;
  await bridge.sendToolInput({ arguments: args });
  const result = await client.callTool({ name, arguments: args });
  await bridge.sendToolResult(result);
  Object.assign(window.testHost, { client, bridge, context, appRequests });
  return {
    resourceUri: resource.uri,
    resourceMeta: resource.meta,
    toolMeta: tool._meta ?? null,
    result,
    sandbox: iframe.getAttribute("sandbox"),
    appInfo: bridge.getAppVersion() ?? null,
    appCapabilities: bridge.getAppCapabilities() ?? null,
    serverInfo: client.getServerVersion() ?? null,
  };
}

/** Tell the app the theme changed, as a host does when the person switches it. */
function setTheme(theme) {
  const { bridge, context } = window.testHost;
  window.testHost.context = { ...hostContext(theme, context.toolInfo.tool) };
  bridge.setHostContext(window.testHost.context);
}

window.testHost = { mount, setTheme, appRequests: [] };
