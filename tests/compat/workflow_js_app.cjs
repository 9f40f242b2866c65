// A real Upstash Workflow app written with the official JS SDK (@upstash/workflow), served on 127.0.0.1.
// It counts how often each step body runs and records what the steps saw; /control/* lets a test drive it with
// the SDK's own Client (trigger, notify, cancel). Prints {"port": N} on stdout once listening.
"use strict";
const http = require("node:http");
const { serve, Client } = require("@upstash/workflow");
const { serveMany, createWorkflow } = require("@upstash/workflow/hono");

const env = {
  QSTASH_URL: process.env.QSTASH_URL,
  QSTASH_TOKEN: process.env.QSTASH_TOKEN,
  QSTASH_CURRENT_SIGNING_KEY: process.env.QSTASH_CURRENT_SIGNING_KEY,
  QSTASH_NEXT_SIGNING_KEY: process.env.QSTASH_NEXT_SIGNING_KEY,
};
const devMode = process.env.QSTASH_DEV === "true";
const options = devMode ? {} : { env };
const counts = {};
const seen = {};
const count = (name) => {
  counts[name] = (counts[name] || 0) + 1;
};
let base = "";

const routes = {
  "/steps": serve(async (context) => {
    const payload = context.requestPayload;
    const greeting = await context.run("first", () => {
      count("first");
      return `hello ${payload.name}`;
    });
    const data = await context.run("second", () => {
      count("second");
      return { n: 2, before: greeting };
    });
    await context.run("stamp", () => {
      count("stamp");
      seen.before_sleep = Date.now();
      return seen.before_sleep;
    });
    await context.sleep("nap", 2);
    const response = await context.call("lookup", {
      url: `${base}/third-party?q=1`,
      method: "POST",
      body: { ask: "x" },
    });
    const [left, right] = await Promise.all([
      context.run("left", () => {
        count("left");
        return "L";
      }),
      context.run("right", () => {
        count("right");
        return "R";
      }),
    ]);
    const event = await context.waitForEvent("wait", `evt-${context.workflowRunId}`, { timeout: "60s" });
    await context.run("third", () => {
      count("third");
      seen.after_sleep = Date.now();
      seen.call = { status: response.status, body: response.body };
      seen.data = data;
      seen.parallel = [left, right];
      seen.event = event;
      return "done";
    });
    return "all done";
  }, options),
  "/failing": serve(
    async (context) => {
      await context.run("ok", () => {
        count("ok");
        return "fine";
      });
      await context.run("boom", () => {
        count("boom");
        throw new Error("the step broke on purpose");
      });
    },
    {
      ...options,
      failureFunction: async ({ context, failStatus, failResponse }) => {
        count("failure_function");
        seen.failure = { status: failStatus, message: failResponse, run: context.workflowRunId };
      },
    }
  ),
  "/hook": serve(async (context) => {
    const webhook = await context.createWebhook("make-hook");
    await context.run("tell", () => {
      count("tell");
      seen.webhookUrl = webhook.webhookUrl;
      return webhook.webhookUrl;
    });
    const { request, timeout } = await context.waitForWebhook("wait-hook", webhook, "60s");
    const text = request ? await request.text() : null;
    await context.run("got", () => {
      count("got");
      seen.hook = { timeout, method: request && request.method, body: text, thing: request && request.headers.get("x-thing") };
      return "ok";
    });
  }, options),
  "/tiny": serve(async (context) => {
    await context.run("only", () => {
      count("only");
      return `got ${context.requestPayload}`;
    });
    return "tiny";
  }, options),
  "/long": serve(async (context) => {
    await context.run("begin", () => {
      count("begin");
      return "started";
    });
    await context.sleep("long-nap", 3600);
    await context.run("after", () => {
      count("after");
      return "never";
    });
  }, options),
};

// context.invoke needs workflows served together (the invoked URL is the invoker's with its last segment replaced)
const child = createWorkflow(async (context) => {
  return await context.run("child-step", () => {
    count("child");
    return `child got ${context.requestPayload.n}`;
  });
}, options);
const parent = createWorkflow(async (context) => {
  const result = await context.invoke("call-child", { workflow: child, body: { n: 7 } });
  await context.run("after-invoke", () => {
    count("parent_after");
    seen.invoke = result;
    return "ok";
  });
}, options);
const many = serveMany({ parent, child });

const client = devMode ? new Client() : new Client({ baseUrl: env.QSTASH_URL, token: env.QSTASH_TOKEN });

async function control(path, body) {
  if (path === "/control/state") return { counts, seen };
  if (path === "/control/trigger") {
    return await client.trigger({ url: `${base}${body.route}`, body: body.body, ...(body.options || {}) });
  }
  if (path === "/control/notify") return await client.notify({ eventId: body.eventId, eventData: body.data });
  if (path === "/control/cancel") return (await client.cancel({ ids: body.ids })) || {};
  if (path === "/control/logs") return await client.logs({ workflowRunId: body.workflowRunId });
  return null;
}

const server = http.createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const raw = Buffer.concat(chunks);
  const path = req.url.split("?")[0];
  try {
    if (path === "/third-party") {
      count("third_party");
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ answer: 42 }));
      return;
    }
    if (path.startsWith("/control/")) {
      const answer = await control(path, raw.length ? JSON.parse(raw.toString()) : {});
      res.writeHead(answer === null ? 404 : 200, { "Content-Type": "application/json" });
      res.end(JSON.stringify(answer));
      return;
    }
    const route = path.startsWith("/many/")
      ? { handler: (request) => many({ req: { raw: request, url: request.url }, env: devMode ? {} : env }) }
      : routes[path];
    if (!route) {
      res.writeHead(404);
      res.end("no such route");
      return;
    }
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    const request = new Request(`${base}${req.url}`, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : raw,
    });
    const response = await route.handler(request);
    const out = Buffer.from(await response.arrayBuffer());
    const outHeaders = {};
    response.headers.forEach((value, name) => (outHeaders[name] = value));
    res.writeHead(response.status, outHeaders);
    res.end(out);
  } catch (error) {
    res.writeHead(500, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: String(error && error.stack ? error.stack : error) }));
  }
});

server.listen(0, "127.0.0.1", () => {
  base = `http://127.0.0.1:${server.address().port}`;
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
