// Preload for Pimlico's Alto bundler: `node -r tools/alto-localhost.cjs node_modules/@pimlico/alto/esm/cli/alto.js ...`
// (keyward-testkit's `Bundler` runs Alto this way, with this file embedded).
//
// 1. Loopback only. Alto 0.0.20 hard-codes `fastify.listen({ port, host: "0.0.0.0" })` (esm/rpc/server.js), which
//    would put a test bundler, and the funded keys it signs with, on every interface. Every TCP listen whose host is
//    missing or a wildcard is rewritten to 127.0.0.1; Unix sockets and explicit hosts are left alone.
// 2. Where it listens. With KEYWARD_ALTO_LISTEN_FILE=path, the first TCP server's `address:port` is written to that
//    file once it listens, so Alto can be started with `--port 0` and the kernel's free port read back (no race
//    between picking a port and binding it).
// 3. No orphan. With KEYWARD_ALTO_EXIT_WITH_PARENT=1, Alto exits when the process that started it is gone (a test
//    binary killed before its Drop could stop Alto).
"use strict";

const fs = require("node:fs");
const net = require("node:net");

const LOOPBACK = "127.0.0.1";
const WILDCARDS = new Set([undefined, null, "", "0.0.0.0", "::", "::0", "[::]"]);

const listen = net.Server.prototype.listen;
let reported = false;

function report(server) {
    const file = process.env.KEYWARD_ALTO_LISTEN_FILE;
    const address = server.address();
    if (!file || reported || address === null || typeof address !== "object") {
        return;
    }
    reported = true;
    fs.writeFileSync(`${file}.tmp`, `${address.address}:${address.port}\n`);
    fs.renameSync(`${file}.tmp`, file);
}

net.Server.prototype.listen = function listenOnLoopback(...args) {
    const [first] = args;
    if (first !== null && typeof first === "object") {
        // listen(options[, callback]): only options that name a TCP port (not a path, handle or fd).
        const tcp = first.path === undefined && first.handle === undefined && first._handle === undefined &&
            first.fd === undefined;
        if (tcp && WILDCARDS.has(first.host)) {
            args[0] = { ...first, host: LOOPBACK };
        }
    } else if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
        // listen(port[, host][, backlog][, callback])
        if (typeof args[1] === "string" || args[1] === null || args[1] === undefined) {
            if (WILDCARDS.has(args[1])) {
                args[1] = LOOPBACK;
            }
        } else {
            args.splice(1, 0, LOOPBACK);
        }
    } else if (first === undefined || typeof first === "function") {
        // listen([callback]): a random port, on every interface by default.
        args.splice(0, 0, 0, LOOPBACK);
    }
    this.once("listening", () => report(this));
    return listen.apply(this, args);
};

if (process.env.KEYWARD_ALTO_EXIT_WITH_PARENT === "1") {
    const parent = process.ppid;
    setInterval(() => {
        if (process.ppid !== parent) {
            process.exit(0);
        }
    }, 500).unref();
}
