#!/usr/bin/env node
// React (under ink) runs several times slower in development mode: set it before it loads.
process.env.NODE_ENV ??= "production";
const { main } = await import("../dist/cli/main.js");

main(process.argv);
